"""What the managers' survey pages read: stored satisfaction metrics, verbatims and
campaign response rates (a handful of indexed queries per page)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet

from metrics.models import SatisfactionMetrics
from surveys.models import Campaign, InvitationStatus, Response

TREND_MONTHS = 12


def satisfaction_months(kind: str) -> list[SatisfactionMetrics]:
    """The last TREND_MONTHS months with responses of `kind`, oldest first."""
    rows = SatisfactionMetrics.objects.filter(kind=kind, dimension="all").order_by("-month")
    return list(reversed(rows[:TREND_MONTHS]))


def satisfaction_breakdown(kind: str, month: date) -> dict[str, list[SatisfactionMetrics]]:
    """`month` by touchpoint, segment and lifecycle stage, largest groups first."""
    rows = SatisfactionMetrics.objects.filter(kind=kind, month=month).exclude(dimension="all")
    found: dict[str, list[SatisfactionMetrics]] = {}
    for row in rows.order_by("-n", "key"):
        found.setdefault(row.dimension, []).append(row)
    return found


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
    campaigns = Campaign.objects.select_related("survey").annotate(
        sent=Count("invitations", filter=Q(invitations__status=InvitationStatus.SENT)),
        skipped=Count("invitations", filter=Q(invitations__status=InvitationStatus.SKIPPED)),
        pending=Count("invitations", filter=Q(invitations__status=InvitationStatus.PENDING)),
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
