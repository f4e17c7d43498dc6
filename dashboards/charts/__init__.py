"""Dashboard charts built on csplatform.charts (plotly fragments under the strict CSP)."""

from __future__ import annotations

import pandas as pd
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from csplatform.charts import chart, chart_of
from metrics.models import HealthBand

__all__ = ["BAND_COLORS", "chart", "health_mix_chart"]


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
