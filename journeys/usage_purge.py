"""Retention of raw usage events (storage limitation: LGPD art. 15–16, GDPR art. 5(1)(e)).

An organization may keep raw events only `usage_event_retention_days` days (at
least 30; empty keeps them forever). The nightly sweep deletes older ones in
batches, and never an event still waiting in the roll-up queue
(PendingUsageRollup): health and engagement read the daily rollups, which keep
counting every deleted event, so they are unchanged.

Why no roll-up lock: ingestion writes events and their queue row in one statement,
and the roll-up deletes queue rows and reads their events in one statement. A
purge statement therefore sees an event together with its queue row (skipped) or
after the roll-up committed (counted): never counted-nowhere.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection

from csplatform.bounds import EARLIEST_DAY
from csplatform.clock import local_midnight, local_today
from csplatform.tenancy import organization_model, tenant_context

BATCH = 10_000  # events per DELETE, each in its own short transaction


def retention_cutoff(*, days: int, time_zone: str, today: date | None = None) -> datetime:
    """The first instant kept: midnight (organization's time zone) `days` days before today."""
    today = today or local_today(time_zone)
    return local_midnight(today - timedelta(days=days), time_zone)


def usage_events_purge(
    organization_id: int, *, today: date | None = None, batch_size: int = BATCH
) -> int:
    """Delete the organization's raw usage events older than its retention, already
    counted in the rollups; returns how many. Each batch commits on its own, so a run
    killed halfway keeps what it did and the next run carries on."""
    purged = 0
    while True:
        organization = organization_model().objects.filter(pk=organization_id).first()
        if organization is None or not organization.is_active:
            return purged
        days = organization.usage_event_retention_days
        if not days:
            return purged
        day = today or local_today(organization.time_zone)
        if days > (day - EARLIEST_DAY).days:
            # Longer than events can be old (none before EARLIEST_DAY): nothing to purge.
            # (A retention stored before its maximum could not even be subtracted.)
            return purged
        cutoff = retention_cutoff(days=days, time_zone=organization.time_zone, today=day)
        with tenant_context(organization), connection.cursor() as cursor:
            cursor.execute(_PURGE, {"org": organization.pk, "cutoff": cutoff, "batch": batch_size})
            deleted = cursor.rowcount
        purged += deleted
        if deleted < batch_size:
            return purged


_PURGE = """
DELETE FROM journeys_usageevent
WHERE id IN (
    SELECT e.id FROM journeys_usageevent e
    WHERE e.organization_id = %(org)s AND e.occurred_at < %(cutoff)s
      AND e.id NOT IN (
          SELECT unnest(p.event_ids) FROM journeys_pendingusagerollup p
          WHERE p.organization_id = %(org)s
      )
    LIMIT %(batch)s
)
"""
