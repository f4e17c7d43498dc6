"""Reading stored metrics (never the source data): what dashboards, the API and
`manage.py metrics` show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from journeys.models import CoreFeature
from metrics.models import (
    AdoptionMetrics,
    CohortMetrics,
    MetricsState,
    MonthlyMetrics,
    SatisfactionMetrics,
    TimeToValueCohort,
)

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
    """Stored months from `first` to `last` (first days of months, inclusive), oldest
    first: every month with revenue metrics or survey answers. The revenue keys are
    null in a month that has answers but no revenue row (an organization without
    subscriptions, or before its first one); the satisfaction keys null (n 0) in a month
    without answers."""
    rows = MonthlyMetrics.objects.order_by("month")
    if first is not None:
        rows = rows.filter(month__gte=first)
    if last is not None:
        rows = rows.filter(month__lte=last)
    revenue = {row["month"]: row for row in rows.values("month", *MONTH_KEYS)}
    satisfaction = _satisfaction_by_month(first, last)
    return [
        {
            "month": month.strftime("%Y-%m"),
            **{key: revenue.get(month, _NO_REVENUE)[key] for key in MONTH_KEYS},
            **satisfaction.get(month, _NO_RESPONSES),
        }
        for month in sorted(revenue.keys() | satisfaction.keys())
    ]


_NO_REVENUE: dict[str, Any] = dict.fromkeys(MONTH_KEYS)


# Per month: NPS (−100…100), CSAT (% of 4–5) and CES (mean 1…7) over all responses, each
# with its n and 95 % margin of error; null (n 0) in a month without responses.
SATISFACTION_KEYS = [
    f"{kind}{suffix}" for kind in ("nps", "csat", "ces") for suffix in ("", "_n", "_margin")
]
_NO_RESPONSES: dict[str, Any] = {
    key: 0 if key.endswith("_n") else None for key in SATISFACTION_KEYS
}


def _satisfaction_by_month(first: date | None, last: date | None) -> dict[date, dict[str, Any]]:
    rows = SatisfactionMetrics.objects.filter(dimension="all")
    if first is not None:
        rows = rows.filter(month__gte=first)
    if last is not None:
        rows = rows.filter(month__lte=last)
    by_month: dict[date, dict[str, Any]] = {}
    for month, kind, n, value, margin in rows.values_list("month", "kind", "n", "value", "margin"):
        found = by_month.setdefault(month, dict(_NO_RESPONSES))
        found.update({kind: value, f"{kind}_n": n, f"{kind}_margin": margin})
    return by_month


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


# --- satisfaction (the survey results page) ---

TREND_MONTHS = 12


def satisfaction_months(kind: str) -> list[SatisfactionMetrics]:
    """The last TREND_MONTHS months with responses of `kind`, oldest first."""
    rows = SatisfactionMetrics.objects.filter(kind=kind, dimension="all").order_by("-month")
    return list(reversed(rows[:TREND_MONTHS]))


def satisfaction_breakdown(kind: str, month: date) -> dict[str, list[SatisfactionMetrics]]:
    """`month` by touchpoint, segment and lifecycle stage, largest groups first."""
    rows = SatisfactionMetrics.objects.filter(kind=kind, month=month).exclude(dimension="all")
    found: dict[str, list[SatisfactionMetrics]] = {}
    for row in rows.order_by("-n", "key"):
        found.setdefault(row.dimension, []).append(row)
    return found


# --- adoption and time to value (the journey map) ---


@dataclass(frozen=True)
class FeatureShare:
    feature: str
    customers: int  # customers that used it in the 30 days
    share: float | None  # of all customers; None when there are no customers
    is_core: bool


@dataclass(frozen=True)
class Adoption:
    metrics: AdoptionMetrics
    most_used: list[FeatureShare]  # by share, highest first
    least_used: list[FeatureShare]  # by share, lowest first; none of the most used


def adoption_latest_get(*, top: int = 5) -> Adoption | None:
    """The latest day's stored adoption, with the `top` most and least used features by
    share of customers (core features nobody used count, with 0). None before the
    metrics have run."""
    metrics = AdoptionMetrics.objects.order_by("-day").first()
    if metrics is None:
        return None
    core = set(CoreFeature.objects.values_list("feature", flat=True))
    used = {str(k): int(v) for k, v in metrics.feature_customers.items()}
    ranked = sorted(
        (
            FeatureShare(
                feature=feature,
                customers=count,
                share=count / metrics.customers if metrics.customers else None,
                is_core=feature in core,
            )
            for feature, count in {**dict.fromkeys(core, 0), **used}.items()
        ),
        key=lambda f: (-f.customers, f.feature),
    )
    most_used = ranked[:top]
    rest = ranked[top:]
    least_used = list(reversed(rest[-top:])) if rest else []
    return Adoption(metrics=metrics, most_used=most_used, least_used=least_used)


def time_to_value_cohort_list() -> list[TimeToValueCohort]:
    """The stored time to value per monthly cohort of new customers, oldest first."""
    return list(TimeToValueCohort.objects.order_by("month"))
