"""The executive dashboard's small charts (the board pack): the last 12 months of MRR and
ARR, NRR and GRR, logo churn, NPS and the health mix, as inline SVG (csplatform.svgcharts)
so that the page, its printout and the PDF show the same drawing.

Built from ExecutiveSummary.trends (stored results only). Money is plotted in whole
currency units, rates as percentages, NPS in points; a month without a value is a gap
with its reason, never a zero.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from csplatform.money import money_format
from csplatform.svgcharts import Series, svg_chart
from dashboards.charts import BAND_COLORS
from dashboards.executive import ExecutiveSummary, ExecutiveTrends
from metrics.health_selectors import BAND_ORDER
from metrics.models import HealthBand

BLUE, PURPLE, RED, GREEN = "#0969da", "#8250df", "#cf222e", "#1a7f37"


def _number(value: float, digits: int = 0) -> str:
    return number_format(round(value, digits), digits, use_l10n=True, force_grouping=True)


def _points(value: float) -> str:
    """A number of points with a real minus sign: "−20"."""
    text = _number(abs(value))
    return f"−{text}" if round(value) < 0 else text


def _percent(value: float) -> str:
    """A percentage already × 100: "95 %", "2.5 %"."""
    digits = 0 if abs(value - round(value)) < 1e-9 else 1
    return f"{_number(value, digits)} %"


def _percent_value(value: float) -> str:
    return f"{_number(value, 1)} %"


def _revenue_values(
    trends: ExecutiveTrends, key: str, *, scale: float, undefined: str
) -> tuple[list[float | None], list[str | None]]:
    """A revenue metric by month (× `scale`) and, for each gap, why: no stored month, or
    a stored month where the metric is undefined (`undefined`)."""
    values: list[float | None] = []
    reasons: list[str | None] = []
    for month in trends.months:
        row = trends.revenue.get(month)
        value = None if row is None else row.get(key)
        values.append(None if value is None else value * scale)
        reasons.append(
            None
            if value is not None
            else _("no metrics stored for the month")
            if row is None
            else undefined
        )
    return values, reasons


def executive_charts(summary: ExecutiveSummary, *, currency: str) -> dict[str, list[SafeString]]:
    """The small charts of each section of the page, by section key ("revenue",
    "retention", "satisfaction", "health"), in the active language."""
    trends = summary.trends
    if trends is None:
        return {}
    months = trends.months

    def money(value: float) -> str:
        return money_format(value * 100, currency)  # the chart's values are currency units

    mrr, mrr_gaps = _revenue_values(trends, "mrr", scale=0.01, undefined="")
    history = _("not enough history yet (12 months needed)")
    nrr, nrr_gaps = _revenue_values(trends, "nrr", scale=100, undefined=history)
    grr, grr_gaps = _revenue_values(trends, "grr", scale=100, undefined=history)
    churn, churn_gaps = _revenue_values(
        trends,
        "logo_churn_rate",
        scale=100,
        undefined=_("no customers at the start of the month"),
    )
    nps: list[float | None] = [
        None if m not in trends.nps else trends.nps[m]["value"] for m in months
    ]
    labels: dict[Any, str] = {band: str(label) for band, label in HealthBand.choices}
    health = [
        Series(
            labels[band],
            [
                trends.health[m].counts.get(str(band), 0) if m in trends.health else None
                for m in months
            ],
            BAND_COLORS[str(band)],
        )
        for band in BAND_ORDER
    ]
    return {
        "revenue": [
            svg_chart(
                element_id="chart-mrr",
                title=_("MRR and ARR, last 12 months (%(currency)s)") % {"currency": currency},
                months=months,
                series=[Series(_("MRR"), mrr, BLUE, mrr_gaps)],
                kind="area",
                tick_format=_number,
                value_format=money,
                secondary=(_("ARR"), 12),  # ARR = 12 × MRR: its axis on the right
            ),
        ],
        "retention": [
            svg_chart(
                element_id="chart-nrr-grr",
                title=_("NRR and GRR, last 12 months"),
                months=months,
                series=[
                    Series(_("NRR"), nrr, BLUE, nrr_gaps),
                    Series(_("GRR"), grr, PURPLE, grr_gaps),
                ],
                tick_format=_percent,
                value_format=_percent_value,
            ),
            svg_chart(
                element_id="chart-logo-churn",
                title=_("Logo churn, last 12 months"),
                months=months,
                series=[Series(_("Logo churn"), churn, RED, churn_gaps)],
                tick_format=_percent,
                value_format=_percent_value,
            ),
        ],
        "satisfaction": [
            svg_chart(
                element_id="chart-nps",
                title=_("NPS, last 12 months"),
                months=months,
                series=[Series(_("NPS"), nps, GREEN)],
                tick_format=_points,
                missing=_("no responses"),
            ),
        ],
        "health": [
            svg_chart(
                element_id="chart-health-mix",
                title=_("Health mix, last 12 months (customers per band)"),
                months=months,
                series=health,
                kind="stacked",
                tick_format=_number,
                missing=_("no health snapshot in the month"),
            ),
        ],
    }
