"""The survey results page's plotly figures: a kind's trend by month with its 95 % margin
of error as a band, and a month's scores by touchpoint or segment with error bars.
Built from stored SatisfactionMetrics rows; the page's tables say the same."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from csplatform.charts import chart, plotly_text
from dashboards.charts.revenue import month_label
from metrics.models import SatisfactionMetrics

# Each kind's possible range, so a band never runs past what a score can be.
RANGES = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
BLUE = "#0969da"


def score_label(kind: str) -> str:
    return {"nps": _("NPS"), "csat": _("CSAT (% of 4–5)"), "ces": _("CES (mean, 1–7)")}[kind]


def _bounded(value: float, kind: str) -> float:
    low, high = RANGES[kind]
    return min(max(value, low), high)


def _runs(present: Sequence[bool]) -> list[range]:
    """The runs of consecutive True positions, as ranges of indexes."""
    runs: list[range] = []
    start = None
    for i, here in enumerate([*present, False]):
        if here and start is None:
            start = i
        elif not here and start is not None:
            runs.append(range(start, i))
            start = None
    return runs


def trend_chart(months: Sequence[SatisfactionMetrics], kind: str) -> SafeString:
    """The kind's score by month (over all responses) with value ± margin: a shaded band
    over consecutive months that have a margin, an error bar on a month alone."""
    x = [month_label(m.month) for m in months]
    high = [None if m.margin is None else _bounded(m.value + m.margin, kind) for m in months]
    low = [None if m.margin is None else _bounded(m.value - m.margin, kind) for m in months]
    traces: list[go.Scatter] = []
    # Error bars (up, down) on months alone, bounded like the band.
    up: list[float | None] = [None] * len(months)
    down: list[float | None] = [None] * len(months)
    for run in _runs([m.margin is not None for m in months]):
        if len(run) == 1:
            i = run[0]
            value, margin = months[i].value, months[i].margin or 0.0
            up[i] = _bounded(value + margin, kind) - value
            down[i] = value - _bounded(value - margin, kind)
            continue
        # One closed shape per run: along the upper bounds, then back along the lower.
        traces.append(
            go.Scatter(
                x=[x[i] for i in run] + [x[i] for i in reversed(run)],
                y=[high[i] for i in run] + [low[i] for i in reversed(run)],
                fill="toself",
                fillcolor="rgba(9, 105, 218, 0.18)",
                line={"width": 0},
                mode="lines",
                hoverinfo="skip",
                name=_("95 % margin of error"),
                legendgroup="margin",
                showlegend=not traces,
            )
        )
    traces.append(
        go.Scatter(
            x=x,
            y=[m.value for m in months],
            customdata=[m.n for m in months],
            error_y={"type": "data", "array": up, "arrayminus": down, "visible": True},
            mode="lines+markers",
            line={"color": BLUE},
            name=score_label(kind),
            hovertemplate="%{y:.1f} (n = %{customdata})<extra></extra>",
        )
    )
    figure = go.Figure(traces)
    figure.update_xaxes(type="category")
    figure.update_yaxes(title_text=score_label(kind), range=list(RANGES[kind]))
    return chart(figure, element_id="satisfaction-trend", label=_("Score by month"))


def breakdown_chart(
    rows: Sequence[SatisfactionMetrics], kind: str, *, element_id: str, label: str
) -> SafeString:
    """One month's score per group (touchpoint, segment…) with its 95 % margin as error
    bars (none where the margin is unknown)."""
    figure = go.Figure(
        go.Bar(
            # the group's name in the reader's language when the page gave one (a stage's,
            # a touchpoint's), else its key: a name people typed
            x=[plotly_text(getattr(r, "label", r.key)) for r in rows],
            y=[r.value for r in rows],
            customdata=[r.n for r in rows],
            error_y={"type": "data", "array": [r.margin for r in rows], "visible": True},
            marker={"color": BLUE},
            name=score_label(kind),
            hovertemplate="%{x}: %{y:.1f} (n = %{customdata})<extra></extra>",
        )
    )
    figure.update_layout(showlegend=False, hovermode="closest")
    figure.update_yaxes(title_text=score_label(kind), range=list(RANGES[kind]))
    return chart(figure, element_id=element_id, label=label, height=280)


def satisfaction_charts(
    months: Sequence[SatisfactionMetrics],
    breakdown: dict[str, list[SatisfactionMetrics]],
    kind: str,
) -> dict[str, SafeString]:
    """The results page's charts: `trend` (with a month or more), and `touchpoint` and
    `segment` for the groups the latest month has."""
    found: dict[str, SafeString] = {}
    if months:
        found["trend"] = trend_chart(months, kind)
    for dimension, label in (
        ("touchpoint", _("Score by touchpoint")),
        ("segment", _("Score by segment")),
    ):
        if breakdown.get(dimension):
            found[dimension] = breakdown_chart(
                breakdown[dimension], kind, element_id=f"satisfaction-{dimension}", label=label
            )
    return found
