"""The daily usage rollups: brought up to date from the roll-up queue, exactly once.

Ingestion inserts events and, in the same statement, one PendingUsageRollup
row with their ids, then schedules `roll_up_usage` a few seconds after its
commit (debounced: a burst of batches causes one run). The task deletes
queued rows and adds their events to the three rollups in one statement, so
an event is counted once whether the task runs late, twice, or dies halfway.

Keeping the rollups out of the request is what lets a batch of 10,000 events
answer at more than half the speed of a raw COPY (see bench/ingestion.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Func, IntegerField, Sum

from accounts.tenancy import current_organization
from csplatform.tasks import enqueue_debounced, organization_lock
from journeys.models import PendingUsageRollup
from journeys.signals import activity_changed

# Queue rows taken per statement: at most 10,000 events each, so ≤ 500,000 events.
CHUNK = 50


def schedule_roll_up() -> None:
    """Have the rollups brought up to date shortly after the current transaction commits."""
    from journeys.tasks import roll_up_usage

    enqueue_debounced(
        roll_up_usage, current_organization().pk, delay=settings.USAGE_ROLLUP_DELAY_SECONDS
    )


def usage_pending() -> int:
    """How many recorded events the rollups do not count yet."""
    pending = PendingUsageRollup.objects.aggregate(
        events=Sum(Func("event_ids", function="cardinality", output_field=IntegerField()))
    )["events"]
    return int(pending or 0)


@transaction.atomic
def usage_roll_up() -> int:
    """Add every queued event to the daily rollups; returns how many events were counted.

    Call inside the organization's tenant context. It waits for the organization's
    roll-up lock, so two roll-ups never interleave, and holds it to the end of the
    transaction.
    """
    organization = current_organization()
    organization_lock("journeys.rollups.usage_roll_up")
    with connection.cursor() as cursor:
        # A backfill's chunk groups into ~10^5 rollup rows: aggregate in memory, not on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
    counted = 0
    while PendingUsageRollup.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute(
                _ROLL_UP,
                {"org": organization.pk, "tz": organization.time_zone, "chunk": CHUNK},
            )
            counted += int(cursor.fetchone()[0])
    if counted:
        activity_changed.send(sender=PendingUsageRollup)
    return counted


# Days are in the organization's time zone. Deleting the queue rows and adding their
# events happen in one statement: both or neither.
_ROLL_UP = """
WITH queued AS (
    DELETE FROM journeys_pendingusagerollup
    WHERE id IN (SELECT id FROM journeys_pendingusagerollup ORDER BY id LIMIT %(chunk)s)
    RETURNING event_ids
), counted AS (
    SELECT e.account_id, e.contact_id, e.name, e.quantity,
           (e.occurred_at AT TIME ZONE %(tz)s)::date AS day
    FROM journeys_usageevent e
    WHERE e.organization_id = %(org)s AND e.id IN (SELECT unnest(event_ids) FROM queued)
), by_day AS (
    INSERT INTO journeys_dailyusage AS d (organization_id, account_id, day, events, quantity)
    SELECT %(org)s, account_id, day, count(*), coalesce(sum(quantity), 0)
    FROM counted GROUP BY account_id, day
    ON CONFLICT (organization_id, account_id, day) DO UPDATE
        SET events = d.events + EXCLUDED.events, quantity = d.quantity + EXCLUDED.quantity
    RETURNING 1
), by_feature AS (
    INSERT INTO journeys_dailyfeatureusage AS f
        (organization_id, account_id, feature, day, events, quantity)
    SELECT %(org)s, account_id, name, day, count(*), coalesce(sum(quantity), 0)
    FROM counted GROUP BY account_id, name, day
    ON CONFLICT (organization_id, account_id, feature, day) DO UPDATE
        SET events = f.events + EXCLUDED.events, quantity = f.quantity + EXCLUDED.quantity
    RETURNING 1
), by_contact AS (
    INSERT INTO journeys_dailycontactusage AS u
        (organization_id, account_id, contact_id, day, events)
    SELECT %(org)s, account_id, contact_id, day, count(*)
    FROM counted WHERE contact_id IS NOT NULL GROUP BY account_id, contact_id, day
    ON CONFLICT (organization_id, account_id, contact_id, day) DO UPDATE
        SET events = u.events + EXCLUDED.events
    RETURNING 1
)
SELECT (SELECT count(*) FROM counted), (SELECT count(*) FROM by_day),
       (SELECT count(*) FROM by_feature), (SELECT count(*) FROM by_contact)
"""
