"""What the managers' survey pages read of the surveys themselves: verbatims and campaign
response rates (the stored satisfaction metrics are metrics.selectors')."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from surveys.models import Campaign, Response, SurveyInvitationStatus


def verbatims(kind: str, search: str = "") -> QuerySet[Response]:
    """Responses of `kind` with a comment, newest first, optionally containing `search`."""
    rows = (
        Response.objects.filter(kind=kind)
        .exclude(comment="")
        .select_related("account", "contact")
        .order_by("-responded_at")
    )
    return rows.filter(comment__icontains=search) if search else rows


def campaign_rates() -> list[dict[str, Any]]:
    """Each campaign with its invitations sent, skipped and answered, and the rate."""
    campaigns = Campaign.objects.select_related("survey", "audience").annotate(
        sent=Count("invitations", filter=Q(invitations__status=SurveyInvitationStatus.SENT)),
        skipped=Count("invitations", filter=Q(invitations__status=SurveyInvitationStatus.SKIPPED)),
        pending=Count("invitations", filter=Q(invitations__status=SurveyInvitationStatus.PENDING)),
        answered=Count("invitations__response"),
    )
    return [
        {
            "campaign": c,
            "sent": c.sent,
            "skipped": c.skipped,
            "pending": c.pending,
            "answered": c.answered,
            "rate": c.answered / c.sent * 100 if c.sent else None,
        }
        for c in campaigns.order_by("-created_at")
    ]
