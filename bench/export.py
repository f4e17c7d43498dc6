"""What the organization export costs against reading the same tables with COPY.

Data: one demo organization (seed_demo, small scale), its usage events multiplied
(copies with new idempotency keys) to `events` rows: the table that makes an export
big. Measured in the same run, best of a few interleaved rounds:

- `export_ratio`: `export_organization` (the command: one repeatable-read snapshot,
  each table's CSV and JSON Lines streamed by COPY into a deflated ZIP on disk) ÷ a
  plain `COPY (SELECT * FROM <table>) TO STDOUT` of every table it exports, in the
  organization's tenant context, the bytes read and dropped. Target ≤ 2.
- `download_ratio`: the web download's path (inside the request's read-committed
  transaction, each table kept in a temporary table so both its files agree) ÷ the
  same baseline. Reported; the command is the way for a large organization.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import IO

from django.core.management import call_command
from django.db import connection, transaction

from bench.timing import best_seconds

EXPORT_TARGET = 2.0


def _seed(events: int, progress: IO[str]) -> str:
    from accounts.models import Organization
    from csplatform.tenancy import tenant_context

    call_command("seed_demo", "--scale", "small", "--orgs", "1", stdout=progress)
    organization = Organization.objects.order_by("pk").first()
    assert organization is not None  # nosec B101 # seed_demo made it
    columns = "organization_id, account_id, contact_id, name, occurred_at, quantity, properties"
    with tenant_context(organization), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM journeys_usageevent")
        (have,) = cursor.fetchone() or (0,)
        while have < events:
            cursor.execute(
                f"INSERT INTO journeys_usageevent ({columns}, dedupe_key, received_at) "  # noqa: S608 # nosec B608
                f"SELECT {columns}, gen_random_uuid(), received_at FROM journeys_usageevent "
                "ORDER BY id LIMIT %s",
                [events - have],
            )
            have += cursor.rowcount
        cursor.execute("ANALYZE")
    progress.write(f"export: {organization.slug} with {have} usage events\n")
    return organization.slug


def run(*, quick: bool, progress: IO[str]) -> dict[str, object]:
    from accounts import privacy
    from accounts.models import Organization
    from csplatform.tenancy import tenant_context

    events = 50_000 if quick else 500_000
    slug = _seed(events, progress)
    organization = Organization.objects.get(slug=slug)
    tables = [model._meta.db_table for _name, model, _columns in privacy.export_tables()]
    directory = Path(tempfile.mkdtemp(prefix="csplatform-bench-export-"))
    output = directory / "export.zip"
    sizes: dict[str, int] = {}

    def baseline() -> None:
        read = 0
        with tenant_context(organization), connection.cursor() as cursor:
            for table in tables:
                with cursor.cursor.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:  # noqa: S608 # nosec B608
                    for chunk in copy:
                        read += len(chunk)
        sizes["baseline_bytes"] = read

    def command() -> None:
        call_command("export_organization", org=slug, output=str(output), stdout=io.StringIO())
        sizes["zip_bytes"] = output.stat().st_size

    def download() -> None:
        with transaction.atomic(), tenant_context(organization), tempfile.TemporaryFile() as file:
            privacy.organization_export(file)

    rounds = 3 if quick else 5
    progress.write(f"export: timing {len(tables)} tables x {rounds} rounds each way\n")
    try:
        baseline_s, command_s, download_s = best_seconds([baseline, command, download], rounds)
    finally:
        output.unlink(missing_ok=True)
        directory.rmdir()
    return {
        "usage_events": events,
        "tables": len(tables),
        "baseline_s": round(baseline_s, 3),
        "export_s": round(command_s, 3),
        "download_s": round(download_s, 3),
        "export_ratio": round(command_s / baseline_s, 3),
        "export_ratio_target": EXPORT_TARGET,
        "download_ratio": round(download_s / baseline_s, 3),
        **sizes,
    }
