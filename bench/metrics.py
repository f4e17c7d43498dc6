"""Metrics recompute on the large demo workload, against one aggregating scan.

- `scan`: the baseline. One query that merely aggregates the same source
  table in Postgres: every subscription's MRR summed per account and month
  end over the whole history, all organizations at once (as the
  administrative role, BENCH_ADMIN_DATABASE_URL, since it reads across
  tenants). It computes none of the metrics; it is the floor any
  computation over subscription history pays.
- `full`: `metrics_recompute(full=True)` for every organization, each in its
  own tenant transaction, as the nightly sweep runs it: every month's
  movements, rates, renewals and CLV, every cohort with its sBG fit and
  projection, and the atomic replacement of the stored rows.
- `incremental`: 1 % of the accounts, drawn at random across all
  organizations, change today (an upgrade, a downgrade or a cancellation)
  through `subscriptions_upsert`, which marks their organizations stale from
  this month and records which accounts changed; then `metrics_recompute()`
  for every stale organization, as the debounced task runs it. Within a
  month that rebuilds the month from the changed accounts' terms
  (metrics.terms); on a month's first day a change re-judges the month
  before, and it reads the whole history: the JSON says which
  (`organizations_from_changed_accounts`).

- `floor`: `metrics_recompute()` for every organization with nothing stale:
  each organization's transaction, its advisory lock and the read of its
  state, and nothing else. Reported: no incremental recompute that runs one
  transaction per organization can cost less.

- `health`: `health_recompute()` for every organization, as the nightly sweep runs it
  after the full recompute: every customer's components from the daily rollups,
  responses, touchpoints and subscriptions, the score and band, the day's snapshot,
  adoption and the time-to-value cohorts.

Targets (issue #4): full ≤ 3 × scan; incremental ≤ 5 % of full. Issue #6: the full
recompute and the health snapshot together ≤ 3 × scan.

The workload is `seed_demo --scale large` (200 organizations, 200,000
accounts, 20 million events): about 20 minutes to generate, so it lives in a
database of its own, BENCH_LARGE_DATABASE (default `csplatform_bench_large`),
built on the first run and reused while it holds the 200 organizations. The
incremental step changes subscriptions; each run undoes its changes first
(they carry the external id prefix `bench-`).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from typing import IO, Any

import numpy as np
import psycopg
from django.db import connection

BENCH_PREFIX = "bench-"


def _scan(admin: psycopg.Connection, through: date) -> int:
    row = admin.execute(
        """
        SELECT count(*), sum(mrr) FROM (
            SELECT s.organization_id, s.account_id, e.month_end,
                   sum(s.reported_mrr_cents) AS mrr
            FROM accounts_subscription s
            JOIN LATERAL generate_series(
                    date_trunc('month', s.started_on),
                    date_trunc('month', least(coalesce(s.ended_on, %(through)s), %(through)s)),
                    interval '1 month') AS m(month_start) ON true
            CROSS JOIN LATERAL (
                SELECT (m.month_start + interval '1 month - 1 day')::date AS month_end
            ) AS e
            WHERE s.started_on <= e.month_end
              AND (s.ended_on IS NULL OR s.ended_on > e.month_end)
            GROUP BY 1, 2, 3
        ) AS per_account_month
        """,
        {"through": through},
    ).fetchone()
    assert row is not None  # nosec B101 # sanity check; never run with -O
    return int(row[0])


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _organizations() -> list[Any]:
    from accounts.models import Organization

    return list(Organization.objects.filter(is_active=True).order_by("pk"))


def _recompute_share(
    organization_ids: list[int], full: bool | None, today: date
) -> tuple[int, int]:
    """Recompute some organizations, one transaction each (a worker's share of the sweep).
    Returns the months written and how many organizations were recomputed from the
    changed accounts alone. `full` None: the health snapshot instead (returns the
    customers scored)."""
    from accounts.models import Organization
    from csplatform.tenancy import tenant_context
    from metrics.health.store import health_recompute
    from metrics.services import metrics_recompute

    months = from_accounts = 0
    for organization in Organization.objects.filter(pk__in=organization_ids).order_by("pk"):
        with tenant_context(organization):
            if full is None:
                months += health_recompute(today=today).accounts
                continue
            result = metrics_recompute(full=full, today=today)
        months += result.months
        from_accounts += result.accounts > 0
    return months, from_accounts


def _configure_health(organizations: list[Any]) -> None:
    """Give every organization the demo's core features and value milestones (a
    workload generated before they existed has none)."""
    from bench.management.commands.seed_demo import DEMO_CORE_FEATURES, DEMO_MILESTONES
    from csplatform.tenancy import tenant_context
    from journeys.models import CoreFeature, ValueMilestone

    for organization in organizations:
        with tenant_context(organization):
            CoreFeature.objects.bulk_create(
                [CoreFeature(feature=f) for f in DEMO_CORE_FEATURES], ignore_conflicts=True
            )
            ValueMilestone.objects.bulk_create(
                [ValueMilestone(event_name=e, name=n) for e, n in DEMO_MILESTONES],
                ignore_conflicts=True,
            )


def _in_child(organization_ids: list[int], full: bool | None, today: date) -> tuple[int, int]:
    connection.close()  # never share the parent's connection across fork
    return _recompute_share(organization_ids, full, today)


def _recompute_all(
    organization_ids: list[int], *, full: bool | None, today: date, workers: int
) -> tuple[int, int]:
    """As the Celery sweep does it: one task per organization, on `workers` processes."""
    if workers == 1:
        return _recompute_share(organization_ids, full, today)
    connection.close()
    shares = [organization_ids[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_in_child, shares, [full] * workers, [today] * workers))
    return sum(r[0] for r in results), sum(r[1] for r in results)


def _stale(admin: psycopg.Connection) -> list[int]:
    rows = admin.execute(
        "SELECT organization_id FROM metrics_metricsstate WHERE dirty_since IS NOT NULL"
    ).fetchall()
    return sorted(row[0] for row in rows)


def _undo_changes(admin: psycopg.Connection) -> None:
    """Restore the workload as generated: reopen what the bench ended, drop what it added."""
    admin.execute("CREATE TABLE IF NOT EXISTS bench_ended_subscriptions (id bigint PRIMARY KEY)")
    admin.execute(
        "UPDATE accounts_subscription SET ended_on = NULL "
        "WHERE id IN (SELECT id FROM bench_ended_subscriptions)"
    )
    admin.execute(
        "DELETE FROM accounts_subscription WHERE external_id LIKE %s", [BENCH_PREFIX + "%"]
    )
    admin.execute("TRUNCATE bench_ended_subscriptions")


def _change_accounts(
    admin: psycopg.Connection,
    organizations: list[Any],
    today: date,
    rng: np.random.Generator,
    *,
    share: float,
) -> int:
    """Upgrade, downgrade or cancel today the open subscription of `share` of each
    organization's accounts (of those that have one)."""
    from accounts.customers import subscriptions_upsert
    from accounts.models import Account, Subscription
    from csplatform.tenancy import tenant_context

    changed = 0
    for organization in organizations:
        with tenant_context(organization):
            # One open subscription per account (its oldest), for the accounts that have one.
            by_account: dict[int, Any] = {}
            for subscription in (
                Subscription.objects.filter(ended_on__isnull=True)
                .select_related("account")
                .order_by("-pk")
            ):
                by_account[subscription.account_id] = subscription
            open_subscriptions = list(by_account.values())
            count = min(len(open_subscriptions), round(Account.objects.count() * share))
            if count == 0:
                continue
            picks = rng.choice(len(open_subscriptions), count, replace=False)
            rows = []
            for pick in picks:
                current = open_subscriptions[pick]
                end = {
                    "external_id": current.external_id,
                    "account_external_id": current.account.external_id,
                    "plan": current.plan,
                    "amount_cents": current.amount_cents,
                    "currency": current.currency,
                    "billing_interval": current.billing_interval,
                    "started_on": current.started_on,
                    "ended_on": max(today, current.started_on),
                }
                rows.append(end)
                if rng.random() < 0.7:  # a new price from today; else a cancellation
                    rows.append(
                        {
                            **end,
                            "external_id": BENCH_PREFIX + current.external_id,
                            "amount_cents": int(current.amount_cents * rng.choice([0.5, 1.5, 2])),
                            "started_on": max(today, current.started_on),
                            "ended_on": None,
                        }
                    )
            subscriptions_upsert(rows)
            changed += count
            admin.execute(
                "INSERT INTO bench_ended_subscriptions SELECT unnest(%s::bigint[])",
                [[open_subscriptions[pick].pk for pick in picks]],
            )
    return changed


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    from bench.workload import large_workload
    from csplatform.clock import local_today

    today = local_today("UTC")  # the bench's organizations are in UTC
    # The scan runs on every core (Postgres plans it with parallel workers); the sweep
    # does too, as one Celery task per organization on as many worker processes.
    workers = 1 if quick else len(os.sched_getaffinity(0))
    rng = np.random.default_rng(5)
    with large_workload(quick=quick, progress=progress) as admin_dsn:
        organizations = _organizations()
        ids = [o.pk for o in organizations]
        accounts = _count_accounts(admin_dsn)
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            _undo_changes(admin)
            admin.execute("VACUUM ANALYZE accounts_subscription")
            progress.write(
                f"metrics: {len(organizations)} organizations, {accounts} accounts, "
                f"{workers} worker process(es)\n"
            )
            _scan(admin, today)  # warm the caches once, then measure
            scan_seconds, rows = _timed(lambda: _scan(admin, today))
            progress.write(f"  scan: {scan_seconds:.2f}s ({rows} account-months)\n")
        full_seconds, (months, _none) = _timed(
            lambda: _recompute_all(ids, full=True, today=today, workers=workers)
        )
        progress.write(f"  full recompute: {full_seconds:.2f}s ({months} months)\n")
        _configure_health(organizations)
        health_seconds, (scored, _none) = _timed(
            lambda: _recompute_all(ids, full=None, today=today, workers=workers)
        )
        progress.write(f"  health snapshot: {health_seconds:.2f}s ({scored} customers)\n")

        incremental = {}
        for scenario, share, chosen in (
            # 1 % of every organization's accounts: every organization is stale.
            ("spread", 0.01, organizations),
            # The same number of accounts in the fewest organizations (a bulk import).
            ("concentrated", 1.0, organizations[: max(1, round(len(organizations) / 100))]),
        ):
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                changed = _change_accounts(admin, chosen, today, rng, share=share)
                stale = _stale(admin)
            seconds, (months, from_accounts) = _timed(
                lambda stale=stale: _recompute_all(stale, full=False, today=today, workers=workers)
            )
            progress.write(
                f"  incremental ({scenario}) after {changed} accounts changed in "
                f"{len(stale)} organization(s): {seconds:.2f}s ({months} months; "
                f"{from_accounts} from the changed accounts alone)\n"
            )
            incremental[scenario] = {
                "changed_accounts": changed,
                "organizations_recomputed": len(stale),
                "organizations_from_changed_accounts": from_accounts,
                "seconds": round(seconds, 3),
                "incremental_to_full_ratio": round(seconds / full_seconds, 4),
            }
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                _undo_changes(admin)
        # Nothing is stale now (the undoing bypassed the application).
        floor_seconds, _nothing = _timed(
            lambda: _recompute_all(ids, full=False, today=today, workers=workers)
        )
        progress.write(
            f"  floor (every organization's transaction, nothing stale): {floor_seconds:.2f}s\n"
        )
    return {
        "organizations": len(organizations),
        "accounts": accounts,
        "workers": workers,
        "scan_seconds": round(scan_seconds, 3),
        "full_seconds": round(full_seconds, 3),
        "full_to_scan_ratio": round(full_seconds / scan_seconds, 3),
        "full_to_scan_ratio_target": 3.0,
        "health_seconds": round(health_seconds, 3),
        "health_customers": scored,
        "full_and_health_to_scan_ratio": round((full_seconds + health_seconds) / scan_seconds, 3),
        "full_and_health_to_scan_ratio_target": 3.0,
        "incremental": incremental,
        "incremental_to_full_ratio": incremental["spread"]["incremental_to_full_ratio"],
        "incremental_to_full_ratio_target": 0.05,
        "floor_seconds": round(floor_seconds, 3),
        "floor_to_full_ratio": round(floor_seconds / full_seconds, 4),
    }


def _count_accounts(admin_dsn: str) -> int:
    with psycopg.connect(admin_dsn) as admin:
        row = admin.execute("SELECT count(*) FROM accounts_account").fetchone()
        return int(row[0]) if row else 0
