from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from accounts import privacy
from csplatform.commands import org_argument_add, org_from_options
from csplatform.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Export an organization's data as a ZIP: one UTF-8 CSV per table and a "
        "manifest.json with row counts (data portability; see docs/privacy.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        org_argument_add(parser)
        parser.add_argument("--output", required=True, help="The ZIP file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = org_from_options(options)
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"{output.parent} is not a directory.")

        def progress(name: str, rows: int) -> None:
            self.stdout.write(f"  {name}: {rows} rows")

        self.stdout.write(f"Exporting {organization.slug} to {output}…")
        snapshot = not connection.in_atomic_block
        with transaction.atomic():
            if snapshot:  # one snapshot for every table: files and counts agree
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            with tenant_context(organization), output.open("wb") as file:
                manifest = privacy.organization_export(file, progress=progress)
        total = sum(manifest["files"].values())
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(manifest['files'])} files, {total} rows, to {output}.")
        )
