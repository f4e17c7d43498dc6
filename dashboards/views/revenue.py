"""The revenue page (manager and up): MRR and ARR, the movements of the month, churn
rates, NRR/GRR, cohort retention and the projected CLV. It reads only the stored
results (two queries besides the session's, whatever the organization's size)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import fx
from accounts.http import OrganizationRequest
from accounts.permissions import manager_required
from accounts.tenancy import current_organization
from csplatform.clock import organization_today
from dashboards.charts import revenue as charts
from metrics.models import CohortInterval, CohortMetrics, MonthlyMetrics
from metrics.revenue_selectors import cohort_metrics_list, monthly_metrics_list

RETENTION_KINDS = ("logo", "revenue")
HEATMAP_COHORTS = 24  # the most recent monthly cohorts in the heatmap and its table


def _waterfall_month(months: list[MonthlyMetrics]) -> tuple[MonthlyMetrics, bool]:
    """The latest complete month (before today's, in the organization's time zone), or
    the current one when there is none yet; and whether it is still running."""
    current = organization_today().replace(day=1)
    complete = [m for m in months if m.month < current]
    return (complete[-1], False) if complete else (months[-1], True)


def _heatmap(cohorts: list[CohortMetrics], kind: str) -> dict[str, Any] | None:
    """The most recent monthly cohorts' retention (logo or revenue) by month since start."""
    monthly = [c for c in cohorts if c.interval == CohortInterval.MONTH][-HEATMAP_COHORTS:]
    if not monthly:
        return None
    rows = [list(getattr(c, f"{kind}_retention")) for c in monthly]
    width = max(len(row) for row in rows)
    return {
        "chart": charts.heatmap_chart(
            [charts.month_label(c.start) for c in monthly], rows, revenue=kind == "revenue"
        ),
        "periods": range(width),
        "rows": [
            (c, row + [None] * (width - len(row))) for c, row in zip(monthly, rows, strict=True)
        ],
    }


def _projection(cohorts: list[CohortMetrics], chosen: str) -> dict[str, Any] | None:
    """The chosen fitted cohort (by id) with its projection, and the fitted cohorts."""
    fitted = sorted((c for c in cohorts if c.projection), key=lambda c: (c.start, c.interval))
    if not fitted:
        return None
    # By default the most recent cohort whose projection has an interval: a fit held at
    # its bound (churn the same for everyone) projects a flat line with no band.
    with_band = [c for c in fitted if c.clv_low is not None]
    default = with_band[-1] if with_band else fitted[-1]
    cohort = next((c for c in fitted if str(c.pk) == chosen), default)
    period_name = {
        CohortInterval.MONTH: _("Months since the cohort's start"),
        CohortInterval.QUARTER: _("Quarters since the cohort's start"),
        CohortInterval.YEAR: _("Years since the cohort's start"),
    }[CohortInterval(cohort.interval)]
    return {
        "cohort": cohort,
        "fitted": list(reversed(fitted)),
        "unfitted": len(cohorts) - len(fitted),
        "observed_periods": len(cohort.survivors) - 1,
        "observed": [(t, s, s / cohort.size) for t, s in enumerate(cohort.survivors)],
        "chart": charts.projection_chart(cohort, period_name),
    }


@manager_required
@require_http_methods(["GET"])
def revenue(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    retention = request.GET.get("retention", "logo")
    if retention not in RETENTION_KINDS:
        retention = "logo"
    months = monthly_metrics_list()
    context: dict[str, Any] = {
        "retention": retention,
        "latest": None,
        **fx.missing_rates_context(),
    }
    if not months:
        return render(request, "dashboards/revenue.html", context)
    currency = current_organization().currency
    # The headline is the last complete month: a month that began days ago would read
    # "R$ 0,00 (0,0 %)" against the one before. The running month is shown beside it,
    # labelled partial (docs/metrics.md, "Headlines").
    latest, latest_partial = _waterfall_month(months)
    index = months.index(latest)
    previous = months[index - 1] if index > 0 else None
    running = months[-1] if months[-1] is not latest else None
    mrr_change = arr_change = mrr_change_rate = None
    if previous is not None:
        mrr_change, arr_change = latest.mrr - previous.mrr, latest.arr - previous.arr
        mrr_change_rate = mrr_change / previous.mrr if previous.mrr else None
    waterfall, waterfall_partial = _waterfall_month(months)
    cohorts = cohort_metrics_list()
    context.update(
        {
            "latest": latest,
            "latest_partial": latest_partial,
            "running": running,
            "previous": previous,
            "mrr_change": mrr_change,
            "arr_change": arr_change,
            "mrr_change_rate": mrr_change_rate,
            "months_newest_first": list(reversed(months)),
            "mrr_chart": charts.mrr_chart(months, currency),
            "waterfall": waterfall,
            "waterfall_start": charts.starting_mrr(waterfall),
            "waterfall_partial": waterfall_partial,
            "waterfall_chart": charts.waterfall_chart(waterfall, currency),
            "movements_chart": charts.movements_chart(months, currency),
            "churn_chart": charts.churn_chart(months),
            "nrr_chart": charts.nrr_chart(months),
            "heatmap": _heatmap(cohorts, retention),
            "projection": _projection(cohorts, request.GET.get("cohort", "")),
        }
    )
    return render(request, "dashboards/revenue.html", context)
