"""Reading stored metrics (never the source data): what dashboards, the API and
`manage.py metrics` show."""

from __future__ import annotations

from datetime import date
from typing import Any

from metrics.models import CohortMetrics, MetricsState, MonthlyMetrics

# The keys of one month in `manage.py metrics --json`, in order.
MONTH_KEYS = [
    "mrr",
    "arr",
    "customers",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
    "expansion_customers",
    "contraction_customers",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "expansion_rate",
    "nrr",
    "grr",
    "arpa",
    "quick_ratio",
    "renewals_due",
    "renewals_renewed",
    "renewal_rate",
    "renewals_due_mrr",
    "renewals_renewed_mrr",
    "renewal_mrr_rate",
    "clv",
]


def metrics_computed() -> bool:
    return MetricsState.objects.filter(computed_at__isnull=False).exists()


def months_between(first: date | None = None, last: date | None = None) -> list[dict[str, Any]]:
    """Stored months from `first` to `last` (first days of months, inclusive), oldest first."""
    rows = MonthlyMetrics.objects.order_by("month")
    if first is not None:
        rows = rows.filter(month__gte=first)
    if last is not None:
        rows = rows.filter(month__lte=last)
    return [
        {"month": row["month"].strftime("%Y-%m"), **{key: row[key] for key in MONTH_KEYS}}
        for row in rows.values("month", *MONTH_KEYS)
    ]


def cohorts() -> list[dict[str, Any]]:
    return [
        {
            "cohort": c.label,
            "interval": c.interval,
            "start": c.start.isoformat(),
            "size": c.size,
            "starting_mrr": c.starting_mrr,
            "survivors": c.survivors,
            "logo_retention": c.logo_retention,
            "revenue_retention": c.revenue_retention,
            "alpha": c.alpha,
            "beta": c.beta,
            "log_likelihood": c.log_likelihood,
            "not_fitted_because": c.fit_note or None,
            "projected_survival": c.projection,
            "clv": c.clv,
            "clv_interval": None if c.clv_low is None else [c.clv_low, c.clv_high],
        }
        for c in CohortMetrics.objects.order_by("interval", "start")
    ]
