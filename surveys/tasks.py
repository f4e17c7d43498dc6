from celery import shared_task
from django.conf import settings

from csplatform.tenancy import tenant_context
from surveys import sending


@shared_task(name="surveys.tasks.send_invitations", acks_late=True)
def send_invitations(organization_id: int, campaign_id: int) -> int:
    """Email up to SURVEY_EMAILS_PER_MINUTE pending invitations of the campaign, one
    transaction each, then come back a minute later while any is left. Safe to run
    twice at once and to kill at any point (see surveys.sending)."""
    sent = 0
    more = True
    while sent < settings.SURVEY_EMAILS_PER_MINUTE:
        with tenant_context(organization_id):
            more = sending.invitation_send_next(campaign_id)
        if not more:
            break
        sent += 1
    if more:
        send_invitations.apply_async((organization_id, campaign_id), countdown=60)
    return sent
