from celery import shared_task

from accounts import services
from csplatform.tasks import fan_out, tenant_task


@tenant_task()
def send_invitation_email(invitation_id: int) -> bool:
    return services.invitation_send_email(invitation_id=invitation_id)


@tenant_task()
def purge_stale_invitations() -> int:
    return services.invitations_purge_stale()


@shared_task(name="accounts.tasks.purge_stale_invitations_sweep")
def purge_stale_invitations_sweep() -> int:
    return fan_out(purge_stale_invitations)


@tenant_task()
def check_import_upload(upload_id: int) -> bool:
    """Check a big CSV upload (a dry run) and store the outcome for its preview page."""
    from accounts import imports

    return imports.import_upload_check_queued(upload_id)


@tenant_task()
def import_upload(upload_id: int, actor_id: int | None) -> bool:
    """Import a big confirmed CSV upload for real and record it for its preview page."""
    from accounts import imports

    return imports.import_upload_queued(upload_id, actor_id)


@tenant_task()
def purge_unconfirmed_uploads() -> int:
    """Empty the CSV uploads not imported within a day of their upload."""
    from accounts import imports

    return imports.import_uploads_purge_unconfirmed()


@shared_task(name="accounts.tasks.purge_unconfirmed_uploads_sweep")
def purge_unconfirmed_uploads_sweep() -> int:
    return fan_out(purge_unconfirmed_uploads)
