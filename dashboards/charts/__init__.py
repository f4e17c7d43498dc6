"""Dashboard charts built on csplatform.charts (plotly fragments under the strict CSP)."""

from __future__ import annotations

import pandas as pd
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from csplatform.charts import chart, chart_of
from metrics.health_selectors import HealthTrend
from metrics.models import HealthBand

__all__ = ["BAND_COLORS", "chart", "health_mix_chart", "health_trend_chart"]


BAND_COLORS = {"healthy": "#1a7f37", "neutral": "#bf8700", "at_risk": "#cf222e"}


def health_mix_chart(mix: pd.DataFrame, *, element_id: str = "health-mix") -> SafeString | None:
    """The health mix over time (metrics.health_selectors.health_mix_by_day) as stacked
    areas; None with fewer than two days."""
    if len(mix) < 2:
        return None
    labels = dict(HealthBand.choices)
    days = [str(d) for d in mix.index]
    data = [
        {
            "type": "scatter",
            "x": days,
            "y": mix[band].tolist(),
            "name": str(labels[band]),
            "stackgroup": "mix",
            "line": {"color": BAND_COLORS[band]},
        }
        for band in mix.columns
    ]
    return chart_of(data, element_id=element_id, label=_("Customers per health band, by day"))


def health_trend_chart(
    trend: HealthTrend,
    *,
    healthy_from: int,
    at_risk_below: int,
    element_id: str = "health-trend",
) -> SafeString | None:
    """An account's score over time (metrics.health_selectors.health_trend) with the
    health model's band thresholds drawn across it; None with fewer than two days."""
    if len(trend.days) < 2:
        return None
    days = [str(d) for d in trend.days]
    ends = [days[0], days[-1]]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": ends,
            "y": [healthy_from, healthy_from],
            "name": _("Healthy from %(score)s") % {"score": healthy_from},
            "line": {"color": BAND_COLORS["healthy"], "dash": "dash", "width": 1},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": ends,
            "y": [at_risk_below, at_risk_below],
            "name": _("At risk below %(score)s") % {"score": at_risk_below},
            "line": {"color": BAND_COLORS["at_risk"], "dash": "dash", "width": 1},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": days,
            "y": [round(score, 1) for score in trend.scores],
            "name": _("Health score"),
            "line": {"color": "#0969da", "width": 2},
        },
    ]
    return chart_of(
        data,
        element_id=element_id,
        label=_("Health score by day, with the band thresholds"),
        height=260,
        layout={"yaxis": {"gridcolor": "#e5e7eb", "zeroline": False, "range": [0, 100]}},
    )
