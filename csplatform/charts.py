"""plotly figures as page fragments, under the strict CSP (no inline script or style).

A figure is sent as JSON in a `<script type="application/json">` data block (never
executed) inside a `.chart` element; static/js/charts.js draws every such element
with the plotly.js the plotly package ships (/static/plotly/plotly.min.js), on page
load and after each htmx swap. Without JavaScript the page's table says the same.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

# Figures built anywhere start without plotly's theme: building one with it costs tens of
# milliseconds, and the page would carry it in every figure's JSON.
pio.templates.default = "none"

# Plain, readable defaults: no plotly toolbar, the page's font, room for axis labels.
LAYOUT = {
    # No plotly theme: it would ship ~6 KB of defaults inside every figure's JSON.
    "template": "none",
    "xaxis": {"gridcolor": "#e5e7eb", "zeroline": False},
    "yaxis": {"gridcolor": "#e5e7eb", "zeroline": False},
    "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
    "font": {"family": "system-ui, sans-serif", "size": 13},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "hovermode": "x unified",
    "legend": {"orientation": "h", "x": 0, "y": 1.12},
}


def plotly_text(text: str) -> str:
    """`text` (a name someone typed: a segment, a touchpoint, a stage) as plotly draws it
    literally in a label, tick or hover.

    Plotly reads its own HTML-like markup in every text it draws (`<a href>`, `<b>`,
    `<br>`, `<span style>`…), so a segment named `<a href=…>` would be drawn as a link.
    It turns the entities `&lt;`, `&gt;` and `&amp;` back into characters, so escaping
    those three is enough and shows what was typed; quotes need nothing (and plotly would
    show `&quot;` as is).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_of(
    data: list[dict[str, Any]],
    *,
    element_id: str,
    label: str,
    height: int = 320,
    layout: dict[str, Any] | None = None,
) -> SafeString:
    """A fragment from plain trace dicts (plotly's JSON schema) with the default
    layout (and `layout`'s keys over it): for hot pages, where building and validating
    a go.Figure costs ~10 ms."""
    spec = {"data": data, "layout": {**LAYOUT, "height": height, **(layout or {})}}
    return _fragment(spec, element_id, label)


def _fragment(spec: dict[str, Any], element_id: str, label: str) -> SafeString:
    return format_html(
        '<div class="chart" id="{}" role="img" aria-label="{}" data-chart="{}">{}</div>',
        element_id,
        label,
        f"{element_id}-figure",
        json_script(spec, f"{element_id}-figure"),
    )


def chart(figure: go.Figure, *, element_id: str, label: str, height: int = 320) -> SafeString:
    """The figure as a fragment: a labelled `.chart` element holding its JSON."""
    # The defaults first, then what the figure itself set: a chart's own margin, legend
    # or axes win.
    own = figure.layout.to_plotly_json()
    own.pop("template", None)  # plotly's theme would undo "none" and weigh ~7 KB
    styled = go.Figure(data=figure.data, layout={**LAYOUT, "height": height})
    styled.update_layout(own)
    spec = styled.to_plotly_json()
    return _fragment({"data": spec["data"], "layout": spec["layout"]}, element_id, label)
