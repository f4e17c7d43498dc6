from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction

from csplatform.tasks import fan_out, tenant_task
from csplatform.tenancy import current_organization, tenant_context
from surveys import sending


@shared_task(name="surveys.tasks.send_invitations", acks_late=True)
def send_invitations(organization_id: int, campaign_id: int) -> int:
    """Email up to SURVEY_EMAILS_PER_MINUTE pending invitations (then due reminders) of
    the campaign, one transaction each, then come back a minute later while any is
    left. Safe to run twice at once and to kill at any point (see surveys.sending)."""
    sent = 0
    more = True
    while sent < settings.SURVEY_EMAILS_PER_MINUTE:
        with tenant_context(organization_id):
            more = sending.invitation_send_next(campaign_id) or sending.invitation_remind_next(
                campaign_id
            )
        if not more:
            break
        sent += 1
    if more:
        send_invitations.apply_async((organization_id, campaign_id), countdown=60)
    return sent


@tenant_task(exclusive=True)
def send_due_campaigns() -> int:
    """Start the sends that are due and queue the emails, with the reminders due."""
    organization_id = current_organization().pk
    started = sending.campaigns_start_due()
    campaign_ids = {c.pk for c, _plan in started} | set(sending.campaigns_with_reminders_due())
    for campaign_id in sorted(campaign_ids):
        transaction.on_commit(partial(send_invitations.delay, organization_id, campaign_id))
    return len(started)


@shared_task(name="surveys.tasks.send_due_campaigns_sweep")
def send_due_campaigns_sweep() -> int:
    return fan_out(send_due_campaigns)
