"""A person's journey rows on an erasure request, asked by accounts.privacy through the
hooks in accounts.signals (connected in JourneysConfig.ready). See docs/privacy.md."""

from __future__ import annotations

from journeys.models import Touchpoint


def contact_touchpoints_anonymize(*, contact_ids: list[int]) -> dict[str, int]:
    """Unlink the contacts from their touchpoints and empty their notes (type, date and
    sentiment stay, for health and engagement). Returns the touchpoints changed.
    Usage events and per-day counts need nothing here: deleting the contacts unlinks
    and deletes them in Postgres (ON DELETE SET NULL / CASCADE)."""
    return {
        "touchpoints_anonymized": Touchpoint.objects.filter(contact_id__in=contact_ids).update(
            contact=None, notes=""
        )
    }
