import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from csplatform.tenancy import tenant_context
from metrics.services import metrics_recompute


class Command(BaseCommand):
    help = (
        "Recompute stored metrics now: incrementally (the stale months) or, with --full, "
        "everything. Celery does this by itself; this is for operators and first runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--org", metavar="SLUG", help="One organization.")
        which.add_argument("--all", action="store_true", help="Every active organization.")
        parser.add_argument("--full", action="store_true", help="Recompute every month.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            organizations = list(Organization.objects.filter(is_active=True).order_by("slug"))
        else:
            organizations = list(Organization.objects.filter(slug=options["org"]))
            if not organizations:
                raise CommandError(
                    f"No organization has the slug {options['org']!r}; "
                    "`manage.py create_org` makes one."
                )
        started = time.perf_counter()
        for position, organization in enumerate(organizations, start=1):
            began = time.perf_counter()
            with tenant_context(organization):
                result = metrics_recompute(full=options["full"])
            if result.skipped:
                outcome = "up to date"
            else:
                scope = "all months" if result.since is None else f"from {result.since:%Y-%m}"
                outcome = f"{result.months} month(s) {scope}, {result.cohorts} cohort(s)"
            self.stdout.write(
                f"[{position}/{len(organizations)}] {organization.slug}: {outcome} "
                f"({time.perf_counter() - began:.2f}s)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Recomputed {len(organizations)} organization(s) in "
                f"{time.perf_counter() - started:.1f}s."
            )
        )
