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
