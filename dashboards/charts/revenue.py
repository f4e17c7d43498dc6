"""The revenue page's plotly figures, built from stored results (metrics.models).

Money is plotted in currency units (cents ÷ 100), rates as percentages. Months are
labelled in the active locale, as in the tables under each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import plotly.graph_objects as go
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from csplatform.charts import money_axis
from dashboards.charts import chart
from metrics.models import CohortMetrics, MonthlyMetrics

GREEN, RED, BLUE, GREY = "#1a7f37", "#cf222e", "#0969da", "#6e7781"
MOVEMENT_COLORS = {
    "new": "#1a7f37",
    "expansion": "#4ac26b",
    "reactivation": "#8250df",
    "contraction": "#fb8f44",
    "churn": "#cf222e",
}


def month_label(month: date) -> str:
    """A month as the tables show it ("Jan 2026", "jan 2026")."""
    return date_format(month, "M Y")


def units(cents: float | None) -> float | None:
    return None if cents is None else cents / 100


def percent(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100


def movement_labels() -> dict[str, str]:
    return {
        "new": _("New"),
        "expansion": _("Expansion"),
        "reactivation": _("Reactivation"),
        "contraction": _("Contraction"),
        "churn": _("Churn"),
    }


def mrr_chart(months: Sequence[MonthlyMetrics], currency: str) -> SafeString:
    """MRR at each month end, in currency units."""
    figure = go.Figure(
        go.Scatter(
            x=[month_label(m.month) for m in months],
            y=[units(m.mrr) for m in months],
            name=_("MRR"),
            mode="lines+markers",
            line={"color": BLUE},
        )
    )
    figure.update_yaxes(
        title_text=_("MRR (%(currency)s)") % {"currency": currency}, **money_axis(currency)
    )
    return chart(figure, element_id="mrr-chart", label=_("MRR by month"))


def starting_mrr(month: MonthlyMetrics) -> int:
    """MRR(M − 1), from the identity MRR(M) = MRR(M − 1) + new + reactivation + expansion
    − contraction − churn (docs/metrics.md, Movements)."""
    return (
        month.mrr
        - month.new
        - month.reactivation
        - month.expansion
        + month.contraction
        + month.churn
    )


def waterfall_chart(month: MonthlyMetrics, currency: str) -> SafeString:
    """One month's bridge from starting to ending MRR: gains up, losses down."""
    labels = movement_labels()
    figure = go.Figure(
        go.Waterfall(
            x=[
                _("Starting MRR"),
                labels["new"],
                labels["expansion"],
                labels["reactivation"],
                labels["contraction"],
                labels["churn"],
                _("Ending MRR"),
            ],
            measure=["absolute", *["relative"] * 5, "total"],
            y=[
                units(starting_mrr(month)),
                units(month.new),
                units(month.expansion),
                units(month.reactivation),
                units(-month.contraction),
                units(-month.churn),
                units(month.mrr),  # a total: plotly draws the sum, which equals it
            ],
            increasing={"marker": {"color": GREEN}},
            decreasing={"marker": {"color": RED}},
            totals={"marker": {"color": BLUE}},
            connector={"line": {"color": GREY}},
        )
    )
    figure.update_layout(showlegend=False, hovermode="closest")
    figure.update_yaxes(
        title_text=_("MRR (%(currency)s)") % {"currency": currency}, **money_axis(currency)
    )
    return chart(
        figure,
        element_id="waterfall-chart",
        label=_("MRR movements of %(month)s") % {"month": month_label(month.month)},
    )


def movements_chart(months: Sequence[MonthlyMetrics], currency: str) -> SafeString:
    """Movements by month as stacked bars: gains above zero, losses below."""
    labels = movement_labels()
    x = [month_label(m.month) for m in months]
    figure = go.Figure(
        [
            go.Bar(
                x=x,
                y=[units(sign * getattr(m, key)) for m in months],
                name=labels[key],
                marker={"color": MOVEMENT_COLORS[key]},
            )
            for key, sign in (
                ("new", 1),
                ("expansion", 1),
                ("reactivation", 1),
                ("contraction", -1),
                ("churn", -1),
            )
        ]
    )
    figure.update_layout(barmode="relative")
    figure.update_yaxes(
        title_text=_("MRR (%(currency)s)") % {"currency": currency}, **money_axis(currency)
    )
    return chart(figure, element_id="movements-chart", label=_("MRR movements by month"))


def _rate_lines(
    months: Sequence[MonthlyMetrics], series: Sequence[tuple[str, str, str]]
) -> go.Figure:
    """One line per (MonthlyMetrics field, name, colour), in %, by month."""
    x = [month_label(m.month) for m in months]
    return go.Figure(
        [
            go.Scatter(
                x=x,
                y=[percent(getattr(m, key)) for m in months],
                name=name,
                mode="lines+markers",
                line={"color": color},
            )
            for key, name, color in series
        ]
    )


def churn_chart(months: Sequence[MonthlyMetrics]) -> SafeString:
    """Logo, gross MRR and net MRR churn rates by month, in %."""
    figure = _rate_lines(
        months,
        (
            ("logo_churn_rate", _("Logo churn"), GREY),
            ("gross_mrr_churn_rate", _("Gross MRR churn"), RED),
            ("net_mrr_churn_rate", _("Net MRR churn"), BLUE),
        ),
    )
    figure.update_yaxes(title_text=_("% of the month before"), ticksuffix=" %")
    return chart(figure, element_id="churn-chart", label=_("Churn rates by month"))


def nrr_chart(months: Sequence[MonthlyMetrics]) -> SafeString:
    """NRR and GRR (trailing 12 months) by month, in %."""
    figure = _rate_lines(months, (("nrr", _("NRR"), GREEN), ("grr", _("GRR"), BLUE)))
    figure.update_yaxes(title_text=_("% of MRR 12 months before"), ticksuffix=" %")
    return chart(figure, element_id="nrr-chart", label=_("NRR and GRR by month"))


def heatmap_chart(
    labels: Sequence[str], rows: Sequence[Sequence[float | None]], *, revenue: bool
) -> SafeString:
    """Cohorts (rows, oldest on top) × months since start, retention in %."""
    z = [[percent(value) for value in row] for row in rows]
    figure = go.Figure(
        go.Heatmap(
            x=list(range(max((len(row) for row in rows), default=0))),
            y=list(labels),
            z=z,
            text=[["" if v is None else f"{v:.0f}" for v in row] for row in z],
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=None if revenue else 100,
            colorbar={"ticksuffix": " %"},
            hoverongaps=False,
        )
    )
    figure.update_xaxes(title_text=_("Months since the cohort's start"), dtick=1)
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_layout(hovermode="closest")
    label = _("Revenue retention by cohort") if revenue else _("Logo retention by cohort")
    return chart(figure, element_id="cohort-heatmap", label=label, height=max(320, 22 * len(rows)))


def projection_chart(cohort: CohortMetrics, period_name: str) -> SafeString:
    """A cohort's observed survival and its sBG projection with the 90 % band."""
    observed = [s / cohort.size for s in cohort.survivors]
    ahead = cohort.projection
    periods = [p["period"] for p in ahead]
    traces = []
    if ahead and all(p["low"] is not None for p in ahead):
        # The band: an invisible upper line, and the lower one filled up to it.
        traces += [
            go.Scatter(
                x=periods,
                y=[percent(p["high"]) for p in ahead],
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
                name=_("90 % interval, high"),
            ),
            go.Scatter(
                x=periods,
                y=[percent(p["low"]) for p in ahead],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(9, 105, 218, 0.18)",
                name=_("90 % interval"),
            ),
        ]
    traces += [
        go.Scatter(
            # Joined to the last observed point so the two lines read as one curve.
            x=[len(observed) - 1, *periods],
            y=[percent(observed[-1]), *(percent(p["survival"]) for p in ahead)],
            mode="lines+markers",
            line={"color": BLUE, "dash": "dash"},
            name=_("Projected (sBG)"),
        ),
        go.Scatter(
            x=list(range(len(observed))),
            y=[percent(s) for s in observed],
            mode="lines+markers",
            line={"color": GREY},
            name=_("Observed"),
        ),
    ]
    figure = go.Figure(traces)
    figure.update_xaxes(title_text=period_name)
    figure.update_yaxes(
        title_text=_("Customers never churned"), ticksuffix=" %", rangemode="tozero"
    )
    return chart(
        figure,
        element_id="projection-chart",
        label=_("Observed and projected survival of cohort %(cohort)s") % {"cohort": cohort.label},
    )
