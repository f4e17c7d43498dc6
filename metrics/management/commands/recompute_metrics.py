import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from csplatform.commands import org_argument_add
from csplatform.tenancy import tenant_context
from metrics.health.backfill import health_backfill_now
from metrics.services import metrics_recompute_everything


class Command(BaseCommand):
    help = (
        "Recompute stored metrics now, as the nightly task does: roll up waiting usage "
        "events, then revenue incrementally (the stale months) or, with --full, "
        "everything; then satisfaction, today's health snapshot, and the playbooks (the "
        "tasks they open are emailed to their assignees through the outbox, as from the "
        "worker). Celery does this by itself; this is for operators and first runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        org_argument_add(which, required=False)
        which.add_argument("--all", action="store_true", help="Every active organization.")
        parser.add_argument("--full", action="store_true", help="Recompute every month.")
        parser.add_argument(
            "--backfill-health",
            action="store_true",
            help=(
                "Then compute the health history (every day of the last 90, each Monday "
                "of the last 12 months, each month's first and last day) here, with "
                "progress, instead of in the worker. Days with their own snapshot are kept."
            ),
        )

    def _backfill(self, organization: Organization) -> None:
        began = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done == total or done % 10 == 0:
                self.stdout.write(f"  {organization.slug}: health history {done} of {total} days")

        result = health_backfill_now(organization.pk, progress=progress)
        self.stdout.write(
            f"  {organization.slug}: health history of {result.days} day(s), "
            f"{result.days - result.stored} kept as recorded "
            f"({time.perf_counter() - began:.2f}s)"
        )

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
        refused = 0
        for position, organization in enumerate(organizations, start=1):
            began = time.perf_counter()
            with tenant_context(organization):
                everything = metrics_recompute_everything(full=options["full"])
            result, health = everything.revenue, everything.health
            if result.refused:
                outcome = self.style.ERROR(f"revenue not recomputed: {result.refused}")
                refused += 1
            elif result.skipped:
                outcome = "up to date"
            else:
                scope = "all months" if result.since is None else f"from {result.since:%Y-%m}"
                outcome = f"{result.months} month(s) {scope}, {result.cohorts} cohort(s)"
            bands = ", ".join(f"{n} {band}" for band, n in sorted(health.bands.items()))
            self.stdout.write(
                f"[{position}/{len(organizations)}] {organization.slug}: {outcome}; "
                f"{everything.usage_events} usage event(s) rolled up; "
                f"health of {health.accounts} customer(s) ({bands or 'none'}); "
                f"{len(everything.todos)} task(s) opened ({time.perf_counter() - began:.2f}s)"
            )
            if options["backfill_health"]:
                self._backfill(organization)
        self.stdout.write(
            self.style.SUCCESS(
                f"Recomputed {len(organizations)} organization(s) in "
                f"{time.perf_counter() - started:.1f}s."
            )
        )
        if refused:
            raise CommandError(
                f"The revenue of {refused} organization(s) was not recomputed: see above."
            )
