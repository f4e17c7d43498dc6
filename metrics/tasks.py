from celery import shared_task

from accounts.tenancy import current_organization
from csplatform.tasks import enqueue_on_commit, fan_out, tenant_task
from metrics import services
from metrics.health.backfill import (
    NIGHTLY_DEFER_SECONDS,
    health_backfill_step,
    nightly_finished,
    nightly_running,
    nightly_started,
)
from metrics.health.store import health_recompute
from metrics.playbooks import playbooks_run_and_notify
from metrics.satisfaction import satisfaction_recompute


@tenant_task(debounced=True)
def recompute_metrics(full: bool = False) -> dict[str, object]:
    """Bring the organization's stored metrics up to date (queued, debounced, on change)."""
    result = services.metrics_recompute(full=full)
    if not result.skipped:
        services.health_mark_stale()  # revenue trend, renewals, who is a customer
    return {"months": result.months, "cohorts": result.cohorts, "skipped": result.skipped}


@tenant_task()
def recompute_metrics_full() -> dict[str, object]:
    """The nightly full recompute of one organization (new month, renewals now past):
    the same service as `manage.py recompute_metrics --full`."""
    try:
        result = services.metrics_recompute_everything(full=True)
    finally:
        nightly_finished()  # one organization fewer before the backfills go on
    return {
        "usage_events": result.usage_events,
        "months": result.revenue.months,
        "cohorts": result.revenue.cohorts,
        "satisfaction": result.satisfaction,
        "health": result.health.accounts,
        "todos": len(result.todos),
    }


@tenant_task(debounced=True)
def recompute_satisfaction() -> int:
    """Bring the organization's NPS, CSAT and CES up to date (queued, debounced, on change)."""
    rows = satisfaction_recompute()
    services.health_mark_stale()  # satisfaction is a component
    return rows


@tenant_task(debounced=True)
def recompute_health() -> dict[str, object]:
    """Recompute today's health snapshot, then run the playbooks on it (queued,
    debounced, on any change the score reads)."""
    health = health_recompute()
    todos = playbooks_run_and_notify(today=health.day)  # the snapshot's day, past midnight too
    return {"accounts": health.accounts, "bands": health.bands, "todos": len(todos)}


@tenant_task()
def backfill_health(generation: int, step: int) -> dict[str, object]:
    """One day of the organization's health history backfill (metrics.health.backfill),
    then the next day queued in the same transaction: each day is committed with its
    progress, and the nightly job waits at most one day's write. While the nightly
    sweep's organizations are queued or running, the day waits (queued again a little
    later): a backfill never competes with the nightly job for the worker."""
    if nightly_running():
        enqueue_on_commit(
            backfill_health,
            current_organization().pk,
            generation,
            step,
            countdown=NIGHTLY_DEFER_SECONDS,
        )
        return {"generation": generation, "step": step, "more": True, "deferred": True}
    more = health_backfill_step(generation, step)
    if more:
        enqueue_on_commit(backfill_health, current_organization().pk, generation, step + 1)
    return {"generation": generation, "step": step, "more": more}


@shared_task(name="metrics.tasks.recompute_metrics_sweep")
def recompute_metrics_sweep() -> int:
    # Counted before the tasks are queued: the first may finish before the fan-out ends.
    return fan_out(recompute_metrics_full, before=nightly_started)
