"""The health history backfill (metrics.health.backfill) against the nightly health
recompute of the same organization, on one organization of the large workload's size
(seed_demo --scale medium --orgs 1: 1,000 accounts, 100,000 events, 13 months; every
organization of the large workload has that size), seeded into the throwaway
benchmark database.

- `nightly`: `health_recompute()` of the organization, as the nightly sweep runs it
  (the baseline), the best of a few runs.
- `nightly_during_backfill`: the same while another process runs the organization's
  whole backfill (one transaction per day, the nightly lock taken for each day's
  write only): `nightly_during_backfill_ratio` = during ÷ alone. On a machine with
  fewer free cores than the two processes need, it includes their competition for
  the CPU, not only for the lock: so it is also measured beside the same
  computation without the backfill's writes and lock
  (`nightly_during_backfill_to_computation_ratio`, the lock's own cost).
- `backfill`: the whole backfill of the organization in one process (about 145 days),
  its seconds and seconds per day, and per day as a ratio to the nightly recompute
  (each day is one nightly computation in hindsight, plus its write).
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import IO, Any

from django.core.management import call_command
from django.db import connection

from bench.timing import best_seconds

ROUNDS = 3


def _largest() -> Any:
    from django.db.models import Count

    from accounts.models import Account, Organization
    from csplatform.tenancy import tenant_context

    best, size = None, -1
    for organization in Organization.objects.filter(is_active=True).order_by("pk"):
        with tenant_context(organization):
            accounts = Account.objects.aggregate(n=Count("id"))["n"]
        if accounts > size:
            best, size = organization, accounts
    return best


def _nightly(organization_id: int) -> float:
    """Run the nightly health recompute; returns the seconds it waited for the
    organization's health lock (taken first here, then again, at once, by the
    recompute: an advisory lock is reentrant within its session)."""
    from csplatform.tasks import organization_lock
    from csplatform.tenancy import tenant_context
    from metrics.health.store import LOCK, health_recompute

    with tenant_context(organization_id):
        began = time.perf_counter()
        organization_lock(LOCK)
        waited = time.perf_counter() - began
        health_recompute()
    return waited


def _backfill_in_child(organization_id: int) -> None:
    connection.close()  # never share the parent's connection across fork
    from metrics.health.backfill import health_backfill_now

    health_backfill_now(organization_id)


def _compute_only_in_child(organization_id: int) -> None:
    """The backfill's computation, day by day, without its writes or its lock: the same
    load on the machine, to tell the lock's cost from the competition for the CPU."""
    connection.close()
    from csplatform.tenancy import tenant_context
    from metrics.health.backfill import backfill_days
    from metrics.health.inputs import health_inputs
    from metrics.health.model import Model, health_model
    from metrics.health.store import day_scored
    from metrics.services import subscriptions_frame

    with tenant_context(organization_id):
        from csplatform.clock import organization_today

        days = backfill_days(organization_today())
    for day in days:
        with tenant_context(organization_id):
            model = Model.of(health_model())
            day_scored(health_inputs(subscriptions_frame(), day, hindsight=True), model)


def _nightly_beside(target: Any, organization_id: int) -> tuple[list[float], list[float]]:
    """The nightly recompute's seconds and its waits for the lock, run again and again
    (at most 10) while `target` runs in another process."""
    connection.close()
    child = multiprocessing.get_context("fork").Process(target=target, args=(organization_id,))
    child.start()
    during: list[float] = []
    waits: list[float] = []
    try:
        time.sleep(0.5)  # let it get going
        while child.is_alive() and len(during) < 10:
            began = time.perf_counter()
            waits.append(_nightly(organization_id))
            during.append(time.perf_counter() - began)
    finally:
        child.join()
    return during, waits


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    from metrics.health.backfill import health_backfill_now

    scale = "small" if quick else "medium"
    call_command("seed_demo", "--scale", scale, "--orgs", "1", stdout=progress)
    organization = _largest()
    _nightly(organization.pk)  # warms up; asks for the history (queued, never run here)
    started = time.perf_counter()
    result = health_backfill_now(organization.pk)
    backfill_seconds = time.perf_counter() - started
    progress.write(
        f"history: backfill of {result.days} days in {backfill_seconds:.2f}s "
        f"({result.stored} stored)\n"
    )

    def nightly() -> None:
        _nightly(organization.pk)

    [nightly_seconds] = best_seconds([nightly], ROUNDS)
    progress.write(f"  nightly health recompute alone: {nightly_seconds:.3f}s\n")

    during, waits = _nightly_beside(_backfill_in_child, organization.pk)
    during_seconds = statistics.median(during) if during else float("nan")
    progress.write(
        f"  nightly health recompute during the backfill: {during_seconds:.3f}s "
        f"(median of {len(during)}), of which waiting for the lock at most "
        f"{max(waits, default=0):.3f}s\n"
    )
    loaded, _waits = _nightly_beside(_compute_only_in_child, organization.pk)
    loaded_seconds = statistics.median(loaded) if loaded else float("nan")
    progress.write(
        f"  nightly health recompute beside the same computation without writes or lock: "
        f"{loaded_seconds:.3f}s (median of {len(loaded)})\n"
    )
    return {
        "scale": scale,
        "days": result.days,
        "backfill_seconds": round(backfill_seconds, 3),
        "backfill_seconds_per_day": round(backfill_seconds / max(result.days, 1), 4),
        "backfill_day_to_nightly_ratio": round(
            backfill_seconds / max(result.days, 1) / nightly_seconds, 3
        ),
        "nightly_seconds": round(nightly_seconds, 4),
        "nightly_during_backfill_seconds": round(during_seconds, 4),
        "nightly_during_backfill_runs": len(during),
        "nightly_lock_wait_max_seconds": round(max(waits, default=0.0), 4),
        "nightly_during_backfill_ratio": round(during_seconds / nightly_seconds, 3),
        "nightly_beside_computation_seconds": round(loaded_seconds, 4),
        # The backfill's lock and writes: the nightly job beside the backfill against
        # beside the same computation without them (the CPU's competition in both).
        "nightly_during_backfill_to_computation_ratio": round(during_seconds / loaded_seconds, 3),
        "nightly_during_backfill_to_computation_ratio_target": 1.2,
    }
