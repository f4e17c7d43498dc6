"""plotly figures as page fragments, under the strict CSP (no inline script or style).

A figure is sent as JSON in a `<script type="application/json">` data block (never
executed) inside a `.chart` element; static/js/charts.js draws every such element
with the plotly.js the plotly package ships (/static/plotly/plotly.min.js), on page
load and after each htmx swap. Without JavaScript the page's table says the same.
"""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

# Plain, readable defaults: no plotly toolbar, the page's font, room for axis labels.
LAYOUT = {
    "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
    "font": {"family": "system-ui, sans-serif", "size": 13},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "hovermode": "x unified",
    "legend": {"orientation": "h", "x": 0, "y": 1.12},
}


def chart(figure: go.Figure, *, element_id: str, label: str, height: int = 320) -> SafeString:
    """The figure as a fragment: a labelled `.chart` element holding its JSON."""
    figure.update_layout(**LAYOUT, height=height)
    spec = figure.to_plotly_json()
    return format_html(
        '<div class="chart" id="{}" role="img" aria-label="{}" data-chart="{}">{}</div>',
        element_id,
        label,
        f"{element_id}-figure",
        json_script({"data": spec["data"], "layout": spec["layout"]}, f"{element_id}-figure"),
    )
