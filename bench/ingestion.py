"""Event ingestion through the REST API and through CSV import, against raw COPY.

The same N events go in three ways, each into an empty table, in the same run:

- `copy`: the baseline. COPY of the finished rows (account ids and idempotency
  keys already resolved) straight into journeys_usageevent. Postgres refuses
  COPY into a table under row-level security for the application's role, so
  the baseline connects as an administrative role (BENCH_ADMIN_DATABASE_URL,
  default the local `postgres` superuser), which bypasses RLS.
- `api`: POST /api/v1/events/batch/ in batches of 10,000 through the whole
  Django stack (middleware, API-key tenant, DRF, validation, staging COPY,
  dedupe, queueing for the rollups), in-process. Request bodies are encoded
  before the clock starts. The daily rollups are brought up to date by a
  Celery task seconds later; that roll-up is timed apart (`roll_up`) and
  reported with the API as `api_with_roll_up_ratio`.
- `csv`: the `events` CSV import of the same rows (Brazilian format: `;`,
  dd/mm/yyyy hh:mm:ss, decimal commas), parsing and validating the file and
  writing through the same staging path.

Two workloads: `recent`, events of the last 24 hours (a live feed: a batch's
events share account-days, as in production), and `backfill`, events spread
over 90 days (history loaded once: nearly every event starts a new daily
rollup row, the worst case for the rollups).

Ratios are rows per second over the baseline's rows per second.
Targets (issue #3): api ≥ 0.5, csv ≥ 0.3.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import numpy as np
import psycopg
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.customers import accounts_upsert
from accounts.models import Account, Organization, Role, User
from bench.workload import admin_dsn
from csplatform.db import copy_in
from csplatform.imports import import_file
from csplatform.tenancy import tenant_context
from journeys.rollups import usage_roll_up

_USAGE_EVENT_COLUMNS = (
    "organization_id",
    "account_id",
    "contact_id",
    "name",
    "occurred_at",
    "quantity",
    "properties",
    "dedupe_key",
    "received_at",
)


def _admin_dsn() -> str:
    return admin_dsn(connection.settings_dict["NAME"])


def _events(
    rows: int, accounts: list[str], rng: np.random.Generator, *, days: int
) -> list[dict[str, Any]]:
    start = timezone.now() - timedelta(days=days, minutes=10)
    seconds = rng.integers(0, days * 86400, rows)
    picks = rng.integers(0, len(accounts), rows)
    names = np.array(["login", "report.generated", "export.csv", "dashboard.viewed"])
    kinds = rng.integers(0, len(names), rows)
    quantities = rng.integers(1, 20, rows)
    return [
        {
            "id": f"ev-{i}",
            "account_external_id": accounts[picks[i]],
            "event": str(names[kinds[i]]),
            "occurred_at": (start + timedelta(seconds=int(seconds[i]))).isoformat(),
            "quantity": int(quantities[i]),
        }
        for i in range(rows)
    ]


def _clear(admin: psycopg.Connection, organization_id: int) -> None:
    for table in (
        "journeys_usageevent",
        "journeys_dailyusage",
        "journeys_dailyfeatureusage",
        "journeys_dailycontactusage",
        "journeys_pendingusagerollup",
    ):
        admin.execute(f"DELETE FROM {table} WHERE organization_id = %s", [organization_id])  # noqa: S608 # nosec B608 # constant identifiers
    admin.execute("VACUUM ANALYZE journeys_usageevent")


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    rows, account_count = (5_000, 200) if quick else (100_000, 2_000)
    rng = np.random.default_rng(11)
    organization = Organization.objects.create(
        slug="bench-ingestion", name="Bench ingestion", time_zone="America/Sao_Paulo"
    )
    owner = User.objects.create_user("bench-owner@example.com")
    from accounts.models import Membership

    Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    external_ids = [f"acc-{i}" for i in range(account_count)]
    with tenant_context(organization):
        accounts_upsert([{"external_id": e, "name": e} for e in external_ids])
        account_ids = dict(Account.objects.values_list("external_id", "id"))
        _api_key, key = services.api_key_create(name="bench", created_by=owner)
    results: dict[str, object] = {}
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        for label, days in (("recent", 1), ("backfill", 90)):
            events = _events(rows, external_ids, rng, days=days)
            progress.write(
                f"ingestion ({label}): {rows} events over {days} day(s), {account_count} accounts\n"
            )
            measured = _measure(
                admin, organization, events, account_ids, key, progress, rounds=1 if quick else 3
            )
            results[label] = measured
    return results


def _measure(
    admin: psycopg.Connection,
    organization: Organization,
    events: list[dict[str, Any]],
    account_ids: dict[str, int],
    key: str,
    progress: IO[str],
    *,
    rounds: int,
) -> dict[str, object]:
    rows = len(events)

    # --- baseline: raw COPY of the finished rows ---------------------------------------
    received = timezone.now()
    finished = io.StringIO()
    for event in events:
        finished.write(
            f"{organization.pk}\t{account_ids[event['account_external_id']]}\t\\N\t"
            f"{event['event']}\t{event['occurred_at']}\t{event['quantity']}\t{{}}\t"
            f"{uuid.uuid4()}\t{received.isoformat()}\n"
        )
    payload = finished.getvalue()

    def raw_copy() -> None:
        with admin.cursor() as cursor:
            copy_in(cursor, "journeys_usageevent", _USAGE_EVENT_COLUMNS, payload)

    # --- the API ----------------------------------------------------------------------------
    bodies = [json.dumps({"events": events[i : i + 10_000]}) for i in range(0, rows, 10_000)]
    client = Client()
    headers = {"authorization": f"Bearer {key}"}

    def through_api() -> None:
        for body in bodies:
            response = client.post(
                "/api/v1/events/batch/", body, content_type="application/json", headers=headers
            )
            assert response.status_code == 200, response.content[:500]  # nosec B101 # sanity check; never run with -O

    # --- CSV import -------------------------------------------------------------------------
    lines = ["account_external_id;event;occurred_at;quantity;event_id"]
    for event in events:
        when = datetime.fromisoformat(event["occurred_at"]).astimezone(UTC)
        lines.append(
            f"{event['account_external_id']};{event['event']};"
            f"{when.strftime('%d/%m/%Y %H:%M:%S')};{event['quantity']},0;{event['id']}"
        )
    csv_bytes = ("\n".join(lines) + "\n").encode("cp1252")

    def through_csv() -> None:
        with tenant_context(organization):
            report = import_file("events", csv_bytes, context={"time_zone": "UTC"})
        assert report.result.created == rows, report.result  # nosec B101 # sanity check; never run with -O

    def roll_up() -> None:
        with tenant_context(organization):
            assert usage_roll_up() == rows  # nosec B101 # sanity check; never run with -O

    # Interleaved rounds, best of each: a hiccup of the machine (autovacuum, a
    # checkpoint) in one round does not decide a ratio.
    best: dict[str, float] = {}
    for round_number in range(rounds):
        for label, fn in (("copy", raw_copy), ("api", through_api), ("csv", through_csv)):
            _clear(admin, organization.pk)
            seconds = _timed(fn)
            best[label] = min(best.get(label, seconds), seconds)
            if label == "api":  # the deferred roll-up of what the API wrote, timed apart
                seconds = _timed(roll_up)
                best["roll_up"] = min(best.get("roll_up", seconds), seconds)
        progress.write(
            f"  round {round_number + 1}: "
            + ", ".join(f"{label} {seconds:.2f}s" for label, seconds in best.items())
            + " (best so far)\n"
        )
    copy_seconds, api_seconds, csv_seconds = best["copy"], best["api"], best["csv"]

    def per_second(seconds: float) -> int:
        return round(rows / seconds)

    return {
        "rows": rows,
        "copy_rows_per_second": per_second(copy_seconds),
        "api_rows_per_second": per_second(api_seconds),
        "csv_rows_per_second": per_second(csv_seconds),
        "roll_up_rows_per_second": per_second(best["roll_up"]),
        "api_ratio": round(copy_seconds / api_seconds, 3),
        "api_ratio_target": 0.5,
        "csv_ratio": round(copy_seconds / csv_seconds, 3),
        "csv_ratio_target": 0.3,
        # The API's events counted in the daily rollups too (the Celery task's work):
        "api_with_roll_up_ratio": round(copy_seconds / (api_seconds + best["roll_up"]), 3),
    }
