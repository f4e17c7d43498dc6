import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from csplatform.commands import org_argument_add, org_from_options
from csplatform.tenancy import tenant_context
from metrics import selectors
from metrics.satisfaction import satisfaction_recompute
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
        org_argument_add(parser)
        parser.add_argument("--from", dest="first", metavar="YYYY-MM", help="First month.")
        parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="Last month.")
        parser.add_argument("--json", action="store_true", help="JSON instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = org_from_options(options)
        first = _month(options["first"]) if options["first"] else None
        last = _month(options["last"]) if options["last"] else None
        if first and last and first > last:
            raise CommandError("--from is after --to.")
        with tenant_context(organization):
            if not selectors.metrics_computed():
                self.stderr.write("No metrics stored yet for this organization: computing them.")
                metrics_recompute(full=True)
                satisfaction_recompute()
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
            self.stdout.write(
                "No months: the organization has no subscriptions or survey answers in that range."
            )
            return
        self.stdout.write(
            f"{'month':8} {'MRR':>14} {'customers':>9} {'new':>12} {'churn':>12} "
            f"{'logo churn':>10} {'NRR':>7} {'NPS':>5} {'CSAT':>6} {'CES':>5}"
        )
        for m in months:
            self.stdout.write(
                f"{m['month']:8} {_number(m['mrr'], 100, ',.2f'):>14} "
                f"{_number(m['customers'], 1, 'd'):>9} {_number(m['new'], 100, ',.2f'):>12} "
                f"{_number(m['churn'], 100, ',.2f'):>12} "
                f"{_number(m['logo_churn_rate'], 1, '.1%'):>10} {_number(m['nrr'], 1, '.0%'):>7} "
                f"{_number(m['nps'], 1, '.0f'):>5} {_number(m['csat'], 1, '.1f'):>6} "
                f"{_number(m['ces'], 1, '.2f'):>5}"
            )


def _number(value: float | None, divisor: int, spec: str) -> str:
    """`value` ÷ `divisor` formatted by `spec`; "—" when there is none."""
    if value is None:
        return "—"
    return format(value / divisor if divisor != 1 else value, spec)
