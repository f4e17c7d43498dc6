"""The admins' writes on the managers' side: a new survey, a new campaign, starting a
send. Each writes its audit entry in the change's transaction; a send's emails are
queued through the outbox by surveys.sending.campaign_send_start."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from surveys.models import Campaign, Survey
from surveys.sending import SendPlan, campaign_send_start


@transaction.atomic
def survey_create(*, survey: Survey, actor: User | None) -> Survey:
    """Save the new (validated) survey, audited as created by `actor`."""
    _save_audited(survey, AuditEvent.Action.SURVEY_CREATED, actor, {"kind": survey.kind})
    return survey


@transaction.atomic
def campaign_create(*, campaign: Campaign, actor: User | None) -> Campaign:
    """Save the new (validated) campaign, audited as created by `actor`."""
    details = {"survey": campaign.survey}
    _save_audited(campaign, AuditEvent.Action.CAMPAIGN_CREATED, actor, details)
    return campaign


def _save_audited(
    created: Survey | Campaign, action: str, actor: User | None, details: dict[str, Any]
) -> None:
    created.save()
    audit_record(action, actor=actor, target=created.name, details=details)


@transaction.atomic
def campaign_send(*, campaign: Campaign, actor: User | None) -> SendPlan:
    """Start the campaign's next send (see campaign_send_start: its invitations, and its
    emails queued once this commits), audited as done by `actor` with how many contacts
    are emailed and how many skipped, by reason. Raises StillSending."""
    plan = campaign_send_start(campaign)
    audit_record(
        AuditEvent.Action.CAMPAIGN_SENT,
        actor=actor,
        target=campaign.name,
        details={"contacts": plan.pending, "skipped": dict(plan.skipped)},
    )
    return plan
