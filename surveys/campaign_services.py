"""The admins' writes on the managers' side: a new survey, a new campaign, starting a
send. Each writes its audit entry in the change's transaction; a send's emails are
queued through the outbox by surveys.sending.campaign_send_start."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import AuditEvent, Segment, User
from csplatform.tasks import organization_lock
from surveys.models import Campaign, Survey
from surveys.sending import SendPlan, campaign_send_start


@transaction.atomic
def survey_create(*, survey: Survey, actor: User | None) -> Survey:
    """Save the new (validated) survey, audited as created by `actor`."""
    _save_audited(survey, AuditEvent.Action.SURVEY_CREATED, actor, {"kind": survey.kind})
    return survey


@transaction.atomic
def campaign_create(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Save the new (validated) campaign, audited as created by `actor`. Its audience's
    row is locked (FOR NO KEY UPDATE) to the end of the transaction, so a deletion of that
    segment waits and then sees the campaign (accounts.segment_services)."""
    if campaign.audience_id is not None:
        list(
            Segment.objects.filter(pk=campaign.audience_id)
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
    details = {"survey": campaign.survey}
    _save_audited(campaign, AuditEvent.Action.CAMPAIGN_CREATED, actor, details)
    return campaign


def _save_audited(
    created: Survey | Campaign, action: str, actor: User | None, details: dict[str, Any]
) -> None:
    created.save()
    audit_record(action, actor=actor, target=created.name, details=details)


class AudienceChanged(ValidationError):  # noqa: N818 (a verdict, as ValidationError)
    """The confirmation names a preview that is no longer what a send would do: its
    `preview` is the new one, to show instead of sending."""

    def __init__(self, preview: SendPlan) -> None:
        super().__init__(
            _("Who this send reaches has changed since the preview: check the new one."),
            code="audience_changed",
        )
        self.preview = preview


class NobodyToEmail(ValidationError):  # noqa: N818 (a verdict, as ValidationError)
    """The audience has no contact to email: nothing is sent."""


def campaign_preview(*, campaign: Campaign) -> SendPlan:
    """What "Send now" would do right now (campaign_send_start's dry run: the same
    plan, written nowhere). Raises StillSending."""
    return campaign_send_start(campaign, dry_run=True)


@transaction.atomic
def campaign_send(
    *, campaign: Campaign, actor: User | None, fingerprint: str | None = None
) -> SendPlan:
    """Start the campaign's next send (see campaign_send_start: its invitations, and its
    emails queued once this commits), audited as done by `actor` with how many contacts
    are emailed and how many skipped, by reason. Raises StillSending.

    With the `fingerprint` of a preview (the confirmation of "Send now"): sends only if
    a send would still do exactly what that preview showed, else raises AudienceChanged
    with the new preview; and refuses (NobodyToEmail) a send that would email nobody.
    Concurrent confirmations wait for each other on the campaign's row: the second
    finds the first's send done, so a preview confirmed twice sends once."""
    if fingerprint is not None:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        organization_lock("surveys.sending.campaign_send_start")
        preview = campaign_send_start(campaign, dry_run=True)
        if preview.fingerprint != fingerprint:
            raise AudienceChanged(preview)
        if preview.pending == 0:
            raise NobodyToEmail(
                _("Nobody would be emailed: no contact of this audience can be asked now."),
                code="nobody",
            )
    plan = campaign_send_start(campaign)
    audit_record(
        AuditEvent.Action.CAMPAIGN_SENT,
        actor=actor,
        target=campaign.name,
        details={"contacts": plan.pending, "skipped": dict(plan.skipped)},
    )
    return plan
