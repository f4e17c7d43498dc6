import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from csplatform.tenancy import tenant_context
from metrics.health.store import health_recompute
from metrics.playbooks import playbooks_run
from metrics.satisfaction import satisfaction_recompute
from metrics.services import metrics_recompute


class Command(BaseCommand):
    help = (
        "Recompute stored metrics now: revenue incrementally (the stale months) or, with "
        "--full, everything; then satisfaction, today's health snapshot, and the playbooks "
        "(tasks they open are not emailed). Celery does this by itself; this is for "
        "operators and first runs."
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
                satisfaction_recompute()
                health = health_recompute()
                opened = playbooks_run(today=health.day)
            if result.skipped:
                outcome = "up to date"
            else:
                scope = "all months" if result.since is None else f"from {result.since:%Y-%m}"
                outcome = f"{result.months} month(s) {scope}, {result.cohorts} cohort(s)"
            bands = ", ".join(f"{n} {band}" for band, n in sorted(health.bands.items()))
            self.stdout.write(
                f"[{position}/{len(organizations)}] {organization.slug}: {outcome}; "
                f"health of {health.accounts} customer(s) ({bands or 'none'}); "
                f"{len(opened)} task(s) opened ({time.perf_counter() - began:.2f}s)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Recomputed {len(organizations)} organization(s) in "
                f"{time.perf_counter() - started:.1f}s."
            )
        )
