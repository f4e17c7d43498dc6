"""The health history, computed after the fact (docs/metrics.md, Health history).

A new organization loads years of subscriptions, usage and answers on its first day,
yet the nightly job only ever scores "today": every trend would stay empty for weeks.
The backfill scores the past days the snapshots keep (store.snapshot_days_kept: every
day of the last 90, each Monday of the last 12 months, each month's first and last
day), newest first, with the nightly job's own code (store.day_scored) on the inputs
as they were known at the end of each day (health_inputs in hindsight, as the
back-test reads them: no subscription end recorded later, contacts known by then,
answers with the score they had then). Its rows are marked `backfilled_at`.

A day that has its own snapshot (written by the nightly or on-change recompute) is
never replaced: history that the team saw, and the playbooks acted on, stays as it
was recorded. A backfilled day is replaced by the next backfill, so a change of the
health model recomputes every backfilled day with the new model, while the real days
keep the model of their time.

It runs in Celery one day per task run (tasks.backfill_health), each run queueing the
next in its own transaction through the outbox: every day written is committed with
the progress (HealthBackfill.days_done), a killed worker resumes at the next day, and
the nightly recompute's lock is taken only around each day's write, so the nightly
job waits at most one day's insert, never the whole backfill. While the nightly sweep
runs (from its fan-out until each organization's nightly task has ended, counted in
the cache), a backfill day does not run: it is queued again NIGHTLY_DEFER_SECONDS
later, so the backfill never takes the worker or the machine from the nightly job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from django.core.cache import cache
from django.utils import timezone

from accounts.tenancy import current_organization
from csplatform.clock import organization_today
from csplatform.tasks import enqueue_on_commit, organization_lock
from metrics.health.inputs import health_inputs
from metrics.health.model import Model, health_model
from metrics.health.store import (
    LOCK,
    adoption_store,
    day_scored,
    snapshot_days_kept,
    snapshot_insert,
)
from metrics.models import AccountHealth, AdoptionMetrics, BackfillReason, HealthBackfill

logger = logging.getLogger(__name__)

# The nightly sweep's organizations still queued or running (metrics.tasks): a backfill
# day waits while there are any. Forgotten after NIGHTLY_MAX_SECONDS (a lost task must
# not hold the backfills for ever); an unreachable cache lets the backfill go on.
NIGHTLY_KEY = "metrics:nightly-sweep:pending"
NIGHTLY_MAX_SECONDS = 3600
NIGHTLY_DEFER_SECONDS = 60


def nightly_started(organizations: int) -> None:
    """The nightly sweep is about to queue `organizations` nightly recomputes."""
    try:
        cache.set(NIGHTLY_KEY, organizations, timeout=NIGHTLY_MAX_SECONDS)
    except Exception:
        logger.warning("cache unavailable: backfills will not wait for the nightly sweep")


def nightly_finished() -> None:
    """One organization's nightly recompute has ended (done or failed)."""
    try:
        cache.decr(NIGHTLY_KEY)
    except ValueError:
        pass  # not counted: a recompute outside the sweep, or past NIGHTLY_MAX_SECONDS
    except Exception:
        logger.warning("cache unavailable: the nightly sweep's count not updated")


def nightly_running() -> bool:
    """Whether nightly recomputes of the sweep are still queued or running."""
    try:
        pending = cache.get(NIGHTLY_KEY)
    except Exception:
        return False
    return isinstance(pending, int) and pending > 0


def backfill_days(through: date) -> list[date]:
    """The days the backfill computes for a history up to `through` (excluded), newest
    first: the days the snapshots keep (store.snapshot_days_kept)."""
    return snapshot_days_kept(through)


def health_backfill_request(*, reason: BackfillReason, enqueue: bool = True) -> HealthBackfill:
    """Have the current organization's health history computed again, up to today
    (excluded), by a worker queued when the current transaction commits. A run of an
    earlier request stops at its next day (the generation it works for is no longer
    the current one). Without `enqueue`, the caller runs the days itself."""
    now = timezone.now()
    through = organization_today()
    days = len(backfill_days(through))
    backfill = HealthBackfill.objects.select_for_update().first()
    if backfill is None:
        backfill = HealthBackfill(generation=1)
    else:
        backfill.generation += 1
    backfill.reason = reason
    backfill.through = through
    backfill.days_total = days
    backfill.days_done = 0
    backfill.requested_at = now
    backfill.finished_at = None
    backfill.save()
    if enqueue:
        from metrics.tasks import backfill_health

        enqueue_on_commit(backfill_health, current_organization().pk, backfill.generation, 0)
    return backfill


def health_backfill_request_first() -> bool:
    """Request the history once, when the organization has customers and none was ever
    requested (its data was just loaded, or it predates the backfill). Whether it did."""
    if HealthBackfill.objects.exists():
        return False
    health_backfill_request(reason=BackfillReason.DATA_LOADED)
    return True


def health_backfill_refresh() -> bool:
    """Compute the history again after a file was imported: it may have brought past
    subscriptions, usage or answers (onboarding loads accounts first, their history
    after). Only once a history exists: before, the first recompute with customers
    requests it. Whether it did."""
    if not HealthBackfill.objects.exists():
        return False
    health_backfill_request(reason=BackfillReason.DATA_LOADED)
    return True


def health_backfill_step(generation: int, step: int) -> bool:
    """Compute the `step`-th day (0: the newest) of the current organization's backfill
    `generation`, in the current transaction, and record the progress. True when days
    remain after it; False when it is done, or when this run is stale (a newer request,
    or a copy of a step already done)."""
    return _step(generation, step)[0]


def _step(generation: int, step: int) -> tuple[bool, bool]:
    """(days remain, the day was stored)."""
    backfill = HealthBackfill.objects.select_for_update().first()
    if backfill is None or backfill.generation != generation or backfill.days_done != step:
        return False, False
    days = backfill_days(backfill.through)
    stored = False
    if step < len(days):
        from metrics.services import subscriptions_frame

        stored = health_backfill_day(
            days[step],
            subscriptions=subscriptions_frame(),
            model=Model.of(health_model()),
            at=timezone.now(),
        )
    backfill.days_done = min(step + 1, len(days))
    backfill.days_total = len(days)
    if backfill.days_done >= len(days):
        backfill.finished_at = timezone.now()
    backfill.save(update_fields=["days_done", "days_total", "finished_at"])
    return backfill.finished_at is None, stored


def health_backfill_day(
    day: date, *, subscriptions: pd.DataFrame, model: Model, at: datetime
) -> bool:
    """Score `day` as of its end (hindsight) and store it as computed at `at`, unless the
    day has its own snapshot. Whether it was stored. Computes first, then takes the
    nightly recompute's lock for the write only (to the end of the transaction)."""
    inputs = health_inputs(subscriptions, day, hindsight=True)
    components, scored = day_scored(inputs, model)
    organization_lock(LOCK)
    recorded = AccountHealth.objects.filter(day=day, backfilled_at__isnull=True).exists() or (
        AdoptionMetrics.objects.filter(day=day, backfilled_at__isnull=True).exists()
    )
    if recorded:
        return False
    AccountHealth.objects.filter(day=day).delete()
    snapshot_insert(scored, day, backfilled_at=at)
    adoption_store(inputs, components, model, day, backfilled_at=at)
    return True


@dataclass(frozen=True)
class BackfillResult:
    days: int  # computed
    stored: int  # of which stored (the others had their own snapshot)


def health_backfill_now(
    organization_id: int,
    *,
    reason: BackfillReason = BackfillReason.REQUESTED,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> BackfillResult:
    """The whole backfill of one organization, in this process (the management command
    and the demo): requested, then day after day, each in its own transaction as the
    worker's runs are, calling `progress(done, total)` after each."""
    from csplatform.tenancy import tenant_context

    with tenant_context(organization_id):
        backfill = health_backfill_request(reason=reason, enqueue=False)
        generation, total = backfill.generation, backfill.days_total
    stored = 0
    for step in range(total):
        with tenant_context(organization_id):
            _more, day_stored = _step(generation, step)
        stored += day_stored
        progress(step + 1, total)
    return BackfillResult(total, stored)


@dataclass(frozen=True)
class BackfillProgress:
    done: int
    total: int
    running: bool
    through: date | None
    finished_at: datetime | None


def health_backfill_progress() -> BackfillProgress | None:
    """How far the current organization's history backfill got (None: never asked for):
    for the health page's "Computing history: 34 of 142 days"."""
    backfill = HealthBackfill.objects.first()
    if backfill is None:
        return None
    return BackfillProgress(
        done=backfill.days_done,
        total=backfill.days_total,
        running=backfill.finished_at is None,
        through=backfill.through,
        finished_at=backfill.finished_at,
    )
