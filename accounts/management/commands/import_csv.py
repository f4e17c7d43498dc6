from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import audit_import
from csplatform.commands import org_argument_add, org_from_options
from csplatform.imports import REGISTRY, ImportRejected, import_file
from csplatform.tenancy import tenant_context


class Command(BaseCommand):
    help = (
        "Import a CSV file into an organization: all rows or none. Brazilian Excel files "
        "(; separators, decimal commas, Latin-1, dd/mm/yyyy) work as they are. See docs/import.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        org_argument_add(parser)
        parser.add_argument("kind", choices=sorted(REGISTRY), help="What the file holds.")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and count changes; write nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = org_from_options(options)
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        # The command is an edge, like a view: it records what it did in the audit log.
        audit = partial(
            audit_import, actor=None, kind=options["kind"], filename=path.name, source="command"
        )
        try:
            with tenant_context(organization):
                report = import_file(
                    options["kind"],
                    data,
                    context={"time_zone": organization.time_zone},
                    dry_run=options["dry_run"],
                    progress=lambda message: self.stderr.write(str(message)),
                )
                if not report.dry_run:
                    audit(rows=report.rows, result=report.result.as_dict())
        except ImportRejected as rejected:
            if not options["dry_run"]:
                with tenant_context(organization):
                    audit(problems=len(rejected.errors))
            for warning in rejected.warnings:
                self.stderr.write(self.style.WARNING(str(warning)))
            for error in rejected.errors:
                self.stderr.write(self.style.ERROR(f"{path.name}: {error}"))
            raise CommandError(
                f"{len(rejected.errors)} problem(s) in {path.name}; nothing was imported."
            ) from None
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(str(warning)))
        result = report.result
        verb = "would be" if report.dry_run else "were"
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.rows} rows read from {path.name}: {result.created} {verb} created, "
                f"{result.updated} updated, {result.unchanged} unchanged."
            )
        )
