"""A sparkline: a tiny line chart drawn on the server as inline SVG, for a value's
trend inside a table row (no JavaScript, no request of its own, nothing the strict
CSP forbids: presentation attributes, no `style`).

The points are spread evenly across the width in the order given (a sparkline shows
the shape of a trend, not its calendar) and scaled between `low` and `high`, so rows
side by side share one vertical scale.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

WIDTH = 80
HEIGHT = 20
PAD = 2  # room for the stroke and the last point's dot


def sparkline_points(
    values: Sequence[float], *, low: float, high: float, width: int = WIDTH, height: int = HEIGHT
) -> list[tuple[float, float]]:
    """The (x, y) of each value in SVG coordinates (y down), values clamped to
    [low, high]; one value sits in the middle."""
    if not values:
        return []
    span = (high - low) or 1.0
    inner_w, inner_h = width - 2 * PAD, height - 2 * PAD
    step = inner_w / (len(values) - 1) if len(values) > 1 else 0.0
    points = []
    for i, value in enumerate(values):
        clamped = min(max(float(value), low), high)
        x = PAD + (i * step if len(values) > 1 else inner_w / 2)
        y = PAD + inner_h * (1 - (clamped - low) / span)
        points.append((round(x, 1), round(y, 1)))
    return points


def sparkline_svg(
    values: Sequence[float],
    *,
    label: str,
    low: float = 0,
    high: float = 100,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """`values` as an inline SVG polyline with a dot on the latest, labelled for screen
    readers by `label`; an empty string without at least two values."""
    if len(values) < 2:
        return SafeString("")
    points = sparkline_points(values, low=low, high=high, width=width, height=height)
    last_x, last_y = points[-1]
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}" focusable="false"><polyline fill="none" stroke="currentColor" '
        'stroke-width="1.5" stroke-linejoin="round" points="{points}"/>'
        '<circle cx="{x}" cy="{y}" r="2" fill="currentColor"/></svg>',
        w=width,
        h=height,
        label=label,
        points=" ".join(f"{x},{y}" for x, y in points),
        x=last_x,
        y=last_y,
    )
