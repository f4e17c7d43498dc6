"""plotly figures as page fragments, under the strict CSP (no inline script or style).

A figure is sent as JSON in a `<script type="application/json">` data block (never
executed) inside a `.chart` element; static/js/charts.js draws every such element
with the plotly.js the plotly package ships (/static/plotly/plotly.min.js), on page
load and after each htmx swap. Without JavaScript the page's table says the same.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

from csplatform.money import NBSP, currency_symbol

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


# plotly's decimal and thousands separators ("decimal" then "thousands"), per language:
# the Python package ships no plotly.js locale, so numbers are told here.
SEPARATORS = {"pt": ",.", "en": ".,"}
# The hover label of a date axis, in numbers only (plotly would name months in English).
HOVER_FORMATS = {
    "pt": {"day": "%d/%m/%Y", "month": "%m/%Y"},
    "en": {"day": "%b %-d, %Y", "month": "%b %Y"},
}
MAX_DATE_TICKS = 8
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _language() -> str:
    return "pt" if (translation.get_language() or "en").lower().startswith("pt") else "en"


def _as_day(value: Any) -> date | None:
    """A value of a date axis as a day; None for anything else."""
    if isinstance(value, datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, str) and _ISO_DAY.match(value):
        return date.fromisoformat(value[:10])
    return None


def _days(values: Any) -> list[date] | None:
    """The days of a trace's x values, or None when they are not all days."""
    if values is None or isinstance(values, str | dict):
        return None
    days = [_as_day(v) for v in list(values)]
    if not days or any(d is None for d in days):
        return None
    return [d for d in days if d is not None]


def date_ticks(days: list[date]) -> tuple[list[str], list[str], str]:
    """At most MAX_DATE_TICKS evenly spread ticks over `days`, as (ISO values, labels in
    the active language, "month" or "day"): months as "Sep 2026" / "Set 2026", days as
    "7 Dec" / "7 Dez", formatted by Django like the tables beside the chart."""
    unique = sorted(set(days))
    monthly = all(d.day == 1 for d in unique)
    step = max(1, math.ceil(len(unique) / MAX_DATE_TICKS))
    chosen = unique[::step]
    if monthly or (unique[-1] - unique[0]).days > 366:
        labels = [date_format(d, "M Y") for d in chosen]
    else:
        labels = [date_format(d, "j M") for d in chosen]
    return [d.isoformat() for d in chosen], labels, "month" if monthly else "day"


def localized(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (a figure's data and layout) in the reader's language: the locale's decimal
    and thousands separators, and date axes ticked with labels Django formats (plotly.js
    would write "Sep/Oct 2026" whatever the language) and hovered in numbers."""
    language = _language()
    layout = dict(spec.get("layout") or {})
    layout["separators"] = SEPARATORS[language]
    days_by_axis: dict[str, list[date]] = {}
    for trace in spec.get("data") or []:
        days = _days(trace.get("x"))
        if days is not None:
            axis = "xaxis" + str(trace.get("xaxis", "x"))[1:]
            days_by_axis.setdefault(axis, []).extend(days)
    for axis, days in days_by_axis.items():
        own = dict(layout.get(axis) or {})
        if own.get("tickvals") is None and own.get("type", "date") == "date":
            values, labels, unit = date_ticks(days)
            own.update({"type": "date", "tickmode": "array", "tickvals": values})
            own.update({"ticktext": labels, "hoverformat": HOVER_FORMATS[language][unit]})
        layout[axis] = own
    return {**spec, "layout": layout}


def money_axis(currency: str) -> dict[str, Any]:
    """An axis of money in currency units: ticks and hover with the currency's symbol,
    grouped by the figure's separators (csplatform.money's symbol, plotly's numbers)."""
    symbol = currency_symbol(currency)
    prefix = f"{symbol}{NBSP}" if _language() == "pt" or symbol.isalpha() else symbol
    return {"tickprefix": prefix, "tickformat": ",.0f", "hoverformat": ",.2f"}


def _fragment(spec: dict[str, Any], element_id: str, label: str) -> SafeString:
    spec = localized(spec)
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
