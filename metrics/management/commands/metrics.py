import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from csplatform.tenancy import tenant_context
from metrics import selectors
from metrics.services import metrics_recompute


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a month: use YYYY-MM, e.g. 2026-03.") from error


class Command(BaseCommand):
    help = "Print an organization's stored monthly metrics and cohorts (see docs/metrics.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", "--organization", dest="org", metavar="SLUG", required=True)
        parser.add_argument("--from", dest="first", metavar="YYYY-MM", help="First month.")
        parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="Last month.")
        parser.add_argument("--json", action="store_true", help="JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization has the slug {options['org']!r}.")
        first = _month(options["first"]) if options["first"] else None
        last = _month(options["last"]) if options["last"] else None
        if first and last and first > last:
            raise CommandError("--from is after --to.")
        with tenant_context(organization):
            if not selectors.metrics_computed():
                self.stderr.write("No metrics stored yet for this organization: computing them.")
                metrics_recompute(full=True)
            months = selectors.months_between(first, last)
            cohorts = selectors.cohorts()
        if options["json"]:
            document = {
                "organization": organization.slug,
                "currency": organization.currency,
                "months": months,
                "cohorts": cohorts,
            }
            self.stdout.write(json.dumps(document, indent=2))
            return
        if not months:
            self.stdout.write("No months: the organization has no subscriptions in that range.")
            return
        self.stdout.write(
            f"{'month':8} {'MRR':>14} {'customers':>9} {'new':>12} {'churn':>12} "
            f"{'logo churn':>10} {'NRR':>7}"
        )
        for m in months:
            churn = "—" if m["logo_churn_rate"] is None else f"{m['logo_churn_rate']:.1%}"
            nrr = "—" if m["nrr"] is None else f"{m['nrr']:.0%}"
            self.stdout.write(
                f"{m['month']:8} {m['mrr'] / 100:>14,.2f} {m['customers']:>9} "
                f"{m['new'] / 100:>12,.2f} {m['churn'] / 100:>12,.2f} {churn:>10} {nrr:>7}"
            )
