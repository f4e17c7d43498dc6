import logging
import smtplib
from functools import partial

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.models import Organization
from accounts.tenancy import current_organization
from csplatform.tasks import fan_out, tenant_task
from csplatform.tenancy import tenant_context
from surveys import sending

logger = logging.getLogger(__name__)
CHAIN_SECONDS = 60


def _chain_key(campaign_id: int) -> str:
    return f"public_surveys:sending:{campaign_id}"


def queue_sending(organization_id: int, campaign_id: int, *, countdown: int = 0) -> bool:
    """Queue the campaign's emails unless a run is already queued for it: one chain per
    campaign, so the rate stays SURVEY_EMAILS_PER_MINUTE however often this is called.
    (The key expires, so a chain lost with its worker is started again by the sweep.)

    Never raises: the invitations waiting are the record of the work (they stay pending
    until sent), so if Redis is down the sweep (send_due_campaigns, every five minutes)
    starts the chain once it is back.
    """
    try:
        if not cache.add(_chain_key(campaign_id), True, timeout=countdown + 2 * CHAIN_SECONDS):
            return False
        send_invitations.apply_async(
            (organization_id, campaign_id), countdown=countdown, retry=False
        )
    except Exception:
        logger.warning(
            "could not queue the emails of campaign %s; the sweep will", campaign_id, exc_info=True
        )
        return False
    return True


@shared_task(name="surveys.tasks.send_invitations", acks_late=True)
def send_invitations(organization_id: int, campaign_id: int) -> int:
    """Email up to SURVEY_EMAILS_PER_MINUTE pending invitations (then due reminders) of
    the campaign, one transaction each, then come back a minute later while any is
    left. Safe to run twice at once and to kill at any point (see surveys.sending). A
    mail server that fails (other than refusing an address) pauses the campaign a
    minute; its invitations stay pending."""
    cache.delete(_chain_key(campaign_id))
    if not Organization.objects.filter(pk=organization_id, is_active=True).exists():
        return 0  # deactivated or deleted since: nothing more goes out
    sent = 0
    more = True
    while sent < settings.SURVEY_EMAILS_PER_MINUTE:
        try:
            with tenant_context(organization_id):
                more = sending.invitation_send_next(campaign_id) or (
                    sending.invitation_remind_next(campaign_id)
                )
        except (smtplib.SMTPException, OSError):
            logger.warning(
                "survey email failed; campaign %s paused a minute", campaign_id, exc_info=True
            )
            more = True
            break
        if not more:
            break
        sent += 1
    if more:
        queue_sending(organization_id, campaign_id, countdown=CHAIN_SECONDS)
    return sent


@tenant_task()
def start_sending(campaign_id: int) -> None:
    """Queue the emails of a send just started (recorded in the outbox by
    sending.campaign_send_start, in the transaction that wrote its invitations)."""
    transaction.on_commit(partial(queue_sending, current_organization().pk, campaign_id))


@tenant_task(exclusive=True)
def send_due_campaigns() -> int:
    """Start the sends that are due (their emails are queued through the outbox); queue
    the emails of every other campaign with emails or reminders waiting (a chain lost
    with its worker starts again here)."""
    organization_id = current_organization().pk
    started = sending.campaigns_start_due()
    # A send started here has its emails queued through the outbox (campaign_send_start).
    campaign_ids = (
        set(sending.campaigns_with_reminders_due()) | set(sending.campaigns_still_sending())
    ) - {c.pk for c, _plan in started}
    for campaign_id in sorted(campaign_ids):
        transaction.on_commit(partial(queue_sending, organization_id, campaign_id))
    return len(started)


@shared_task(name="surveys.tasks.send_due_campaigns_sweep")
def send_due_campaigns_sweep() -> int:
    return fan_out(send_due_campaigns)
