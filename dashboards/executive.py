"""The executive dashboard's figures: a month or a quarter, read from the stored metrics
(MonthlyMetrics, SatisfactionMetrics, AccountHealth) and set against the previous period
and the organization's benchmarks. A fixed number of queries whatever the history.

Rules for a quarter (docs/metrics.md, "Executive dashboard"): MRR, ARR, NRR, GRR and
CLV at its last month; logo churn as its churned customers ÷ its months' customers at
their start (metrics.revenue.logo_churn_rate_over); NPS pooled over the responses of its
months; the health mix on the latest day at the same place in both periods, for a
period in progress its latest snapshot (health_mixes_compared).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from django.db.models import Count, Max, Subquery
from django.db.models.functions import TruncMonth
from django.utils import dateformat
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from csplatform.clock import organization_today
from dashboards.models import Benchmark
from metrics.health_selectors import BAND_ORDER
from metrics.models import AccountHealth, HealthBand, MonthlyMetrics, SatisfactionMetrics
from metrics.revenue import logo_churn_rate_over
from metrics.satisfaction import nps_pooled

PERIOD_PATTERN = re.compile(
    r"^(?P<year>[1-9]\d{3})-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4]))$"
)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter (the organization's time zone), named by its first day."""

    kind: Literal["month", "quarter"]
    first: date

    @classmethod
    def parse(cls, text: str) -> Period | None:
        """`2026-10` (a month) or `2026-Q3` (a quarter); None for anything else."""
        found = PERIOD_PATTERN.match(text.strip())
        if found is None:
            return None
        year = int(found["year"])
        if found["quarter"]:
            return cls("quarter", date(year, 3 * int(found["quarter"]) - 2, 1))
        return cls("month", date(year, int(found["month"]), 1))

    @classmethod
    def quarter_of(cls, month: date) -> Period:
        return cls("quarter", date(month.year, 3 * ((month.month - 1) // 3) + 1, 1))

    @property
    def months(self) -> list[date]:
        return [add_months(self.first, i) for i in range(3 if self.kind == "quarter" else 1)]

    @property
    def last_month(self) -> date:
        return self.months[-1]

    @property
    def last_day(self) -> date:
        return add_months(self.last_month, 1) - timedelta(days=1)

    @property
    def key(self) -> str:
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return self.first.strftime("%Y-%m")

    @property
    def label(self) -> str:
        """The period in the active language: "October 2026", "Q3 2026"."""
        if self.kind == "quarter":
            return gettext("Q%(quarter)s %(year)s") % {
                "quarter": (self.first.month - 1) // 3 + 1,
                "year": self.first.year,
            }
        return dateformat.format(self.first, "F Y")

    def previous(self) -> Period:
        return Period(self.kind, add_months(self.first, -len(self.months)))


def last_complete_month(today: date) -> date:
    """The first day of the month before `today`'s."""
    return add_months(today.replace(day=1), -1)


@dataclass(frozen=True)
class PeriodChoices:
    """The complete months and quarters with stored metrics, newest first."""

    months: list[Period]
    quarters: list[Period]

    @property
    def default(self) -> Period | None:
        return self.months[0] if self.months else None

    def find(self, key: str) -> Period | None:
        period = Period.parse(key)
        return period if period in self.months or period in self.quarters else None


def period_choices(*, today: date | None = None) -> PeriodChoices:
    """Stored months up to the last complete one, and the quarters whose last month is
    among them (one query)."""
    until = last_complete_month(today or organization_today())
    stored = sorted(
        MonthlyMetrics.objects.filter(month__lte=until).values_list("month", flat=True),
        reverse=True,
    )
    quarters = sorted(
        {Period.quarter_of(m) for m in stored if Period.quarter_of(m).last_month == m},
        key=lambda p: p.first,
        reverse=True,
    )
    return PeriodChoices([Period("month", m) for m in stored], quarters)


# --- figures ---------------------------------------------------------------------------

Unit = Literal["money", "percent", "points"]


@dataclass(frozen=True)
class FigureSpec:
    key: str
    label: Promise
    unit: Unit
    higher_is_better: bool
    anchor: str  # in docs/metrics.md
    formula: Promise


FIGURES = [
    FigureSpec(
        "mrr",
        _("MRR"),
        "money",
        True,
        "mrr-account",
        _(
            "Monthly recurring revenue: the sum over customers of their subscriptions' "
            "amounts normalized to a month (yearly ÷ 12, quarterly ÷ 3), active on the "
            "month's last day. For a quarter: at its last month."
        ),
    ),
    FigureSpec(
        "arr",
        _("ARR"),
        "money",
        True,
        "customer",
        _("Annual recurring revenue = 12 × MRR. For a quarter: at its last month."),
    ),
    FigureSpec(
        "nrr",
        _("NRR"),
        "percent",
        True,
        "nrr",
        _(
            "Net revenue retention, trailing 12 months: MRR now of the accounts that were "
            "customers 12 months before ÷ their MRR then. For a quarter: at its last month."
        ),
    ),
    FigureSpec(
        "grr",
        _("GRR"),
        "percent",
        True,
        "nrr",
        _(
            "Gross revenue retention: as NRR, with each account's MRR now capped at its MRR "
            "12 months before (at most 100 %). For a quarter: at its last month."
        ),
    ),
    FigureSpec(
        "gross_dollar_churn",
        _("Annual gross dollar churn"),
        "percent",
        False,
        "executive-dashboard",
        _(
            "1 − GRR: the share of the MRR of 12 months before lost to churn and "
            "contraction by the accounts that were customers then."
        ),
    ),
    FigureSpec(
        "logo_churn_rate",
        _("Logo churn"),
        "percent",
        False,
        "rates",
        _(
            "Customers who churned in the month ÷ customers at the end of the month "
            "before. For a quarter: the customers who churned in its three months ÷ the "
            "sum of the customers at the start of each month (each month's rate weighted "
            "by its customers)."
        ),
    ),
    FigureSpec(
        "clv",
        _("CLV"),
        "money",
        True,
        "clv",
        _(
            "Simple customer lifetime value = ARPA × gross margin ÷ the mean monthly logo "
            "churn rate of the six months before. For a quarter: at its last month."
        ),
    ),
    FigureSpec(
        "nps",
        _("NPS"),
        "points",
        True,
        "satisfaction",
        _(
            "Net Promoter Score: % promoters (9–10) − % detractors (0–6) over the period's "
            "responses, −100…100, with its 95 % margin of error and the number of "
            "responses n. For a quarter: over the responses of its three months."
        ),
    ),
]


# The page's sections (one printed page each) and the figures in them, in order.
SECTIONS = [
    ("revenue", _("Revenue"), ["mrr", "arr", "clv"]),
    (
        "retention",
        _("Retention and churn"),
        ["nrr", "grr", "gross_dollar_churn", "logo_churn_rate"],
    ),
    ("satisfaction", _("Satisfaction"), ["nps"]),
]


# Why a figure can be "—", said beside the dash (title and screen-reader text).
UNDEFINED_REASONS = {
    "nrr": _("needs 12 months of history"),
    "grr": _("needs 12 months of history"),
    "gross_dollar_churn": _("no MRR at the start of the month"),
    "logo_churn_rate": _("no customers at the start of the month"),
    "clv": _("no customer left in the last six months, so no churn rate to divide by"),
    "nps": _("no responses in the period"),
    "default": _("not computed for this period yet"),
}
NO_PREVIOUS_REASON = _("no value in the period before to compare with")


@dataclass(frozen=True)
class Figure:
    """One headline number of the period against the previous period and its benchmark.

    `value`/`previous` are cents (money), fractions (percent) or points (NPS); None
    where it cannot be computed."""

    spec: FigureSpec
    value: float | None
    previous: float | None
    benchmark: Benchmark | None = None
    n: int | None = None
    margin: float | None = None

    @property
    def why_undefined(self) -> str:
        """Why the figure has no value ("—" never stands alone), in the reader's language."""
        return str(UNDEFINED_REASONS.get(self.spec.key, UNDEFINED_REASONS["default"]))

    @property
    def why_no_change(self) -> str:
        """Why the change is "—": this period's figure is undefined, or the previous one."""
        if self.value is None:
            return self.why_undefined
        return str(NO_PREVIOUS_REASON)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def relative_change(self) -> float | None:
        """The change as a fraction of the previous value (None from 0 or nothing). Only
        for money: a rate or the NPS changes in points (`change`), never in percent of
        itself (NPS −18 → −9 is +9 points, not "+50 %")."""
        if self.spec.unit != "money" or self.change is None or not self.previous:
            return None
        return self.change / abs(self.previous)

    @property
    def direction(self) -> str:
        """The change's direction: "up", "down", "flat", or "" with nothing to compare."""
        if self.change is None:
            return ""
        if math.isclose(self.change, 0, abs_tol=1e-9):
            return "flat"
        return "up" if self.change > 0 else "down"

    @property
    def improved(self) -> bool | None:
        if self.direction in ("", "flat"):
            return None
        return (self.direction == "up") == self.spec.higher_is_better

    @property
    def versus_benchmark(self) -> str:
        """Against the benchmark: "better", "worse", "within" (the range, or equal to
        the single value), or "" without one."""
        b = self.benchmark
        if self.value is None or b is None or (b.low is None and b.high is None):
            return ""
        low = b.low if b.low is not None else b.high
        high = b.high if b.high is not None else b.low
        assert low is not None  # nosec B101 # type narrowing
        assert high is not None  # nosec B101 # type narrowing
        if low - 1e-9 <= self.value <= high + 1e-9:
            return "within"
        above = self.value > high
        return "better" if above == self.spec.higher_is_better else "worse"


@dataclass(frozen=True)
class HealthMix:
    """Customers per band on a snapshot day of a period (None: no snapshot); see
    health_mixes_compared for which day."""

    day: date | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class HealthLine:
    band: str
    label: Any
    count: int
    share: float | None
    previous: int | None

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.count - self.previous


TREND_MONTHS = 12


def trend_months(period: Period) -> list[date]:
    """The 12 months the board pack's small charts show: up to the period's last."""
    return [add_months(period.last_month, i - TREND_MONTHS + 1) for i in range(TREND_MONTHS)]


@dataclass(frozen=True)
class ExecutiveTrends:
    """The stored values of the last 12 months up to the period's last, by month (a
    month without a stored row is absent): revenue rows (MonthlyMetrics values: cents,
    fractions), the month's NPS (SatisfactionMetrics, overall) and the health mix on
    the month's latest snapshot day (customers per band)."""

    months: list[date]
    revenue: dict[date, dict[str, Any]]
    nps: dict[date, dict[str, Any]]
    health: dict[date, HealthMix]


@dataclass(frozen=True)
class ExecutiveSummary:
    period: Period
    previous: Period
    figures: list[Figure]
    health: HealthMix
    previous_health: HealthMix
    trends: ExecutiveTrends | None = None

    @property
    def health_lines(self) -> list[HealthLine]:
        labels = dict(HealthBand.choices)
        total = self.health.total
        return [
            HealthLine(
                band=str(band),
                label=labels[band],
                count=self.health.counts.get(str(band), 0),
                share=self.health.counts.get(str(band), 0) / total if total else None,
                previous=(
                    self.previous_health.counts.get(str(band), 0)
                    if self.previous_health.day is not None
                    else None
                ),
            )
            for band in BAND_ORDER
        ]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.spec.key == key)

    @property
    def sections(self) -> list[tuple[str, Any, list[Figure]]]:
        return [(key, title, [self.figure(k) for k in keys]) for key, title, keys in SECTIONS]


# --- pure computations -----------------------------------------------------------------


def period_revenue(rows: dict[date, dict[str, Any]], period: Period) -> dict[str, float | None]:
    """The period's revenue figures from its stored months (`rows` by month): MRR, ARR,
    NRR, GRR and CLV at its last month, 1 − GRR, and logo churn as its months' churned
    customers ÷ their customers at the start (a monthly rate, weighted by customers).
    None where the month (or every rate) is missing."""
    last = rows.get(period.last_month, {})
    grr = last.get("grr")
    return {
        "mrr": last.get("mrr"),
        "arr": last.get("arr"),
        "nrr": last.get("nrr"),
        "grr": grr,
        "gross_dollar_churn": None if grr is None else 1 - grr,
        "clv": last.get("clv"),
        "logo_churn_rate": logo_churn_rate_over(rows[m] for m in period.months if m in rows),
    }


# --- the selector ----------------------------------------------------------------------

REVENUE_KEYS = [
    "mrr",
    "arr",
    "nrr",
    "grr",
    "clv",
    "logo_churn_rate",
    "customers",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
]


def _latest_snapshot_day(period: Period, *, until: date | None = None) -> date | None:
    """The period's latest snapshot day (on or before `until`, if given)."""
    last = period.last_day if until is None else min(until, period.last_day)
    found: date | None = (
        AccountHealth.objects.filter(day__gte=period.first, day__lte=last)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    return found


def same_place(day: date, period: Period, other: Period) -> date:
    """The day of `other` at `day`'s place in `period`: the same month of it and the
    same day of the month, or the month's last day when it is shorter (30 March in a
    quarter: 30 December; in a month: 28 February)."""
    month = other.months[period.months.index(day.replace(day=1))]
    month_end = add_months(month, 1) - timedelta(days=1)
    return month.replace(day=min(day.day, month_end.day))


def comparable_days(period: Period) -> list[date]:
    """The days of `period` whose health snapshots are kept for good (the first and the
    last day of each month; metrics.health.store), latest first: the places at which
    two periods' mixes compare, the same index in both."""
    days = []
    for month in reversed(period.months):
        days += [add_months(month, 1) - timedelta(days=1), month]
    return days


def _health_mixes(days: list[date | None]) -> list[HealthMix]:
    wanted = [d for d in days if d is not None]
    counts = _band_counts(wanted)
    return [HealthMix(None) if d is None else HealthMix(d, counts.get(d, {})) for d in days]


def _band_counts(days: list[date]) -> dict[date, dict[str, int]]:
    """Customers per band on each of `days` that has a snapshot (one query)."""
    counts: dict[date, dict[str, int]] = {}
    if days:
        for day, band, n in (
            AccountHealth.objects.filter(day__in=days)
            .values("day", "band")
            .annotate(n=Count("id"))
            .values_list("day", "band", "n")
        ):
            counts.setdefault(day, {})[band] = n
    return counts


def health_mixes_compared(
    period: Period, previous: Period, *, today: date | None = None
) -> tuple[HealthMix, HealthMix]:
    """The health mix of `period` and of `previous` on days at the same place in both.

    A period in progress (its last day not yet past, `today` by default the
    organization's): its latest snapshot, against the previous period's latest on or
    before the same place (same_place; older snapshots are pruned to each month's first
    and last day, so often that month's 1st). Three queries.

    A finished period: the latest of comparable_days with a snapshot in both periods
    (the last day of the period in both, else the first of its last month, and so on).
    Without such a pair, each period's latest snapshot (the page prints both days). One
    query, three more in that case."""
    if period.last_day >= (today or organization_today()):
        now_day = _latest_snapshot_day(period)
        before_day = (
            _latest_snapshot_day(previous)
            if now_day is None
            else _latest_snapshot_day(previous, until=same_place(now_day, period, previous))
        )
        health, previous_health = _health_mixes([now_day, before_day])
        return health, previous_health
    now_days, before_days = comparable_days(period), comparable_days(previous)
    counts = _band_counts(now_days + before_days)
    for now_day, before_day in zip(now_days, before_days, strict=True):
        if now_day in counts and before_day in counts:
            return HealthMix(now_day, counts[now_day]), HealthMix(before_day, counts[before_day])
    health, previous_health = _health_mixes(
        [_latest_snapshot_day(period), _latest_snapshot_day(previous)]
    )
    return health, previous_health


def health_mix_by_month(months: list[date]) -> dict[date, HealthMix]:
    """The health mix of each of `months` on its latest snapshot day (a month without
    a snapshot is absent). One query: the days are a subquery."""
    if not months:
        return {}
    last_days = (
        AccountHealth.objects.filter(day__gte=months[0], day__lt=add_months(months[-1], 1))
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(last=Max("day"))
        .values("last")
    )
    counts: dict[date, dict[str, int]] = {}
    for day, band, n in (
        AccountHealth.objects.filter(day__in=Subquery(last_days))
        .values("day", "band")
        .annotate(n=Count("id"))
        .values_list("day", "band", "n")
    ):
        counts.setdefault(day, {})[band] = n
    return {day.replace(day=1): HealthMix(day, by_band) for day, by_band in counts.items()}


def executive_summary(*, period: Period, benchmarks: Iterable[Benchmark]) -> ExecutiveSummary:
    """The period's headline figures with the previous period's, each beside its
    benchmark (by metric), the health mix of both on comparable days, and the last 12
    months for the small charts (ExecutiveTrends). Five queries (seven for a period in
    progress, eight when no day of the two periods compares): the revenue and NPS reads
    cover the 12 months too, the monthly health mix is one more."""
    previous = period.previous()
    trend = trend_months(period)
    months = sorted(set(period.months + previous.months + trend))
    rows = {
        r["month"]: r
        for r in MonthlyMetrics.objects.filter(month__in=months).values("month", *REVENUE_KEYS)
    }
    satisfaction: dict[date, dict[str, Any]] = {
        r["month"]: r
        for r in SatisfactionMetrics.objects.filter(
            month__in=months, kind="nps", dimension="all", key=""
        ).values("month", "n", "value", "margin", "high", "low")
    }
    now, before = period_revenue(rows, period), period_revenue(rows, previous)
    nps_now = nps_pooled(satisfaction[m] for m in period.months if m in satisfaction)
    nps_before = nps_pooled(satisfaction[m] for m in previous.months if m in satisfaction)
    by_metric = {b.metric: b for b in benchmarks}
    figures = []
    for spec in FIGURES:
        if spec.key == "nps":
            figures.append(
                Figure(
                    spec,
                    nps_now["value"],
                    nps_before["value"],
                    n=int(nps_now["n"] or 0),
                    margin=nps_now["margin"],
                )
            )
        else:
            figures.append(Figure(spec, now[spec.key], before[spec.key], by_metric.get(spec.key)))
    health, previous_health = health_mixes_compared(period, previous)
    trends = ExecutiveTrends(
        months=trend,
        revenue={m: rows[m] for m in trend if m in rows},
        nps={m: satisfaction[m] for m in trend if m in satisfaction},
        health=health_mix_by_month(trend),
    )
    return ExecutiveSummary(period, previous, figures, health, previous_health, trends)
