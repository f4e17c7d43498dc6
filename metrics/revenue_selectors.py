"""Reading the stored revenue results for the revenue page: every month and every
cohort, one query each, whatever the organization's size."""

from __future__ import annotations

from metrics.models import CohortMetrics, MonthlyMetrics


def monthly_metrics_list() -> list[MonthlyMetrics]:
    """Every stored month (amounts in cents, rates as fractions), oldest first."""
    return list(MonthlyMetrics.objects.order_by("month"))


def cohort_metrics_list() -> list[CohortMetrics]:
    """Every stored cohort (monthly, quarterly, yearly) with its retention tables and
    sBG projection, by interval and then oldest first."""
    return list(CohortMetrics.objects.order_by("interval", "start"))
