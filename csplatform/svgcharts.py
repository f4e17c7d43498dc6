"""Small monthly charts drawn on the server as inline SVG: the same markup in a page, in
its printout and in a PDF (WeasyPrint runs no JavaScript, and a printed plotly chart is
a screenshot of whatever the browser last drew).

A chart is a row of months and one or more series of numbers, one per month, drawn as
lines, an area (the first series) or stacked bars. A missing value (None) is a gap
with its reason, never a zero: the line breaks, the month is shaded and the reason is
in the month's tooltip, in the accessible description and under the chart.

Everything a reader sees is in the active language: month names by Django's date
format, numbers by the caller's `tick_format`/`value_format` (Django's number_format
for the reader's locale). Colours are SVG presentation attributes, not CSS: the
Content-Security-Policy forbids inline styles, and WeasyPrint draws attributes as is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

Kind = Literal["line", "area", "stacked"]
Format = Callable[[float], str]

WIDTH, HEIGHT = 400, 210
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 10, 40
SECOND_AXIS = 64  # the right margin when a second axis is labelled there
FONT = 11
AXIS, GRID, GAP_FILL, TEXT = "#59636e", "#d1d9e0", "#eff2f5", "#1f2328"


@dataclass(frozen=True)
class Series:
    """One named row of values, one per month (None: no value that month, for
    `reasons[i]`, else the chart's default reason)."""

    name: str
    values: Sequence[float | None]
    color: str
    reasons: Sequence[str | None] = ()

    def reason(self, index: int, default: str) -> str:
        found = self.reasons[index] if index < len(self.reasons) else None
        return found or default


def nice_ticks(low: float, high: float, *, count: int = 4) -> list[float]:
    """About `count` round tick values (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering
    [low, high]; a single value gets a range around it."""
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    n = round((last - first) / step)
    return [round(first + i * step, 10) for i in range(n + 1)]


def month_axis_label(month: date) -> str:
    """A month's short name in the active language ("Oct", "out")."""
    return date_format(month, "M")


def month_long_label(month: date) -> str:
    """A month with its year in the active language ("Oct 2026", "out 2026")."""
    return date_format(month, "M Y")


def _fmt(value: float) -> str:
    """A coordinate, short and stable in tests."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Frame:
    months: int
    low: float
    high: float
    right: float = RIGHT

    @property
    def slot(self) -> float:
        return (WIDTH - LEFT - self.right) / self.months

    def x(self, index: int) -> float:
        return LEFT + self.slot * (index + 0.5)

    def y(self, value: float) -> float:
        span = self.high - self.low or 1.0
        return TOP + (HEIGHT - TOP - BOTTOM) * (self.high - value) / span


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive present values: a line breaks at every gap."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs


def line_paths(values: Sequence[float | None], frame: _Frame) -> list[str]:
    """One SVG path (`M x y L x y …`) per run of present values."""
    return [
        "M " + " L ".join(f"{_fmt(frame.x(i))} {_fmt(frame.y(v))}" for i, v in run)
        for run in _segments(values)
    ]


def area_paths(values: Sequence[float | None], frame: _Frame, base: float) -> list[str]:
    """One closed path per run of present values, down to `base`."""
    paths = []
    for run in _segments(values):
        top = " L ".join(f"{_fmt(frame.x(i))} {_fmt(frame.y(v))}" for i, v in run)
        first, last = run[0][0], run[-1][0]
        paths.append(
            f"M {_fmt(frame.x(first))} {_fmt(frame.y(base))} L {top} "
            f"L {_fmt(frame.x(last))} {_fmt(frame.y(base))} Z"
        )
    return paths


def _range(kind: Kind, series: Sequence[Series]) -> tuple[float, float]:
    if kind == "stacked":
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(series[0].values))]
        return 0.0, max(totals, default=0.0) or 1.0  # nothing to stack: an axis 0…1
    present = [v for s in series for v in s.values if v is not None]
    if not present:
        return 0.0, 1.0
    low, high = min(present), max(present)
    if kind == "area":
        low = min(low, 0.0)
    return low, high


def svg_chart(
    *,
    element_id: str,
    title: str,
    months: Sequence[date],
    series: Sequence[Series],
    kind: Kind = "line",
    tick_format: Format,
    value_format: Format | None = None,
    missing: str | None = None,
    secondary: tuple[str, float] | None = None,
) -> SafeString:
    """The chart as a `<figure>`: an SVG with a <title> and a <desc> that lists every
    month's values (what a screen reader reads), its legend and, under it, each gap
    with its reason.

    `tick_format` labels the value axis, `value_format` (default `tick_format`) the
    values in the description. `missing` is the reason shown for a gap without its
    own. `secondary` = (name, factor) labels a second axis on the right with the ticks
    times `factor` (ARR beside MRR). "stacked" draws a bar per month, the series on
    top of each other; a month is a gap when every series misses it."""
    value_format = value_format or tick_format
    missing = missing or gettext("no data")
    low, high = _range(kind, series)
    ticks = nice_ticks(low, high)
    frame = _Frame(len(months), ticks[0], ticks[-1], RIGHT if secondary is None else SECOND_AXIS)
    parts: list[SafeString] = []

    # Grid and value axis (and the secondary one).
    for tick in ticks:
        y = _fmt(frame.y(tick))
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="{}" fill="{}">{}</text>',
                LEFT,
                WIDTH - frame.right,
                y,
                y,
                GRID,
                LEFT - 4,
                _fmt(frame.y(tick) + 4),
                FONT,
                AXIS,
                tick_format(tick),
            )
        )
        if secondary is not None:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="start" font-size="{}" fill="{}">{}</text>',
                    WIDTH - frame.right + 3,
                    _fmt(frame.y(tick) + 4),
                    FONT - 2,
                    AXIS,
                    tick_format(tick * secondary[1]),
                )
            )

    # Gaps: a shaded month with its reason as a tooltip.
    gaps = _gaps(kind, series, missing)
    for index, reasons in gaps.items():
        parts.append(
            format_html(
                '<rect class="chart-gap" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>{}: {}</title></rect>",
                _fmt(frame.x(index) - frame.slot / 2),
                TOP,
                _fmt(frame.slot),
                HEIGHT - TOP - BOTTOM,
                GAP_FILL,
                month_long_label(months[index]),
                "; ".join(reasons),
            )
        )

    # The series.
    if kind == "stacked":
        parts += _bars(series, frame, months, value_format)
    else:
        for number, s in enumerate(series):
            if kind == "area" and number == 0:
                for path in area_paths(s.values, frame, max(frame.low, 0.0)):
                    parts.append(
                        format_html(
                            '<path d="{}" fill="{}" fill-opacity="0.18" stroke="none"/>',
                            path,
                            s.color,
                        )
                    )
            for path in line_paths(s.values, frame):
                parts.append(
                    format_html(
                        '<path class="chart-line" d="{}" fill="none" stroke="{}" '
                        'stroke-width="2"/>',
                        path,
                        s.color,
                    )
                )
            for i, v in enumerate(s.values):
                if v is not None:
                    parts.append(
                        format_html(
                            '<circle cx="{}" cy="{}" r="2.5" fill="{}">'
                            "<title>{} · {}: {}</title></circle>",
                            _fmt(frame.x(i)),
                            _fmt(frame.y(v)),
                            s.color,
                            s.name,
                            month_long_label(months[i]),
                            value_format(v),
                        )
                    )

    # Month axis: every month's short name; the year under January, and under the first
    # month unless January comes right after it.
    for i, month in enumerate(months):
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="{}" fill="{}">{}</text>',
                _fmt(frame.x(i)),
                HEIGHT - BOTTOM + 14,
                FONT - 1,
                AXIS,
                month_axis_label(month),
            )
        )
        if month.month == 1 or (i == 0 and month.month < 12):
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="{}" fill="{}">{}</text>',
                    _fmt(frame.x(i)),
                    HEIGHT - BOTTOM + 28,
                    FONT - 1,
                    AXIS,
                    month.year,
                )
            )

    svg = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="svg-chart-plot" viewBox="0 0 {} {}" '
        'width="100%" role="img" aria-labelledby="{}-title {}-desc" '
        'font-family="DejaVu Sans, system-ui, sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        element_id,
        element_id,
        element_id,
        title,
        element_id,
        chart_description(months, series, value_format, missing),
        format_html_join("", "{}", ((part,) for part in parts)),
    )
    legend = format_html_join(
        "",
        '<li><svg width="12" height="12" aria-hidden="true" focusable="false">'
        '<rect width="12" height="12" rx="2" fill="{}"/></svg> {}</li>',
        ((s.color, s.name) for s in series),
    )
    if secondary is not None:
        legend = format_html(
            "{}<li>{}</li>",
            legend,
            gettext("%(name)s: the axis on the right") % {"name": secondary[0]},
        )
    caption = format_html(
        '<figcaption><span class="svg-chart-title">{}</span>'
        '<ul class="svg-chart-legend">{}</ul>{}</figcaption>',
        title,
        legend,
        _gap_note(kind, series, months, missing),
    )
    return format_html(
        '<figure class="svg-chart" id="{}" data-kind="{}">{}{}</figure>',
        element_id,
        kind,
        svg,
        caption,
    )


def _gaps(kind: Kind, series: Sequence[Series], missing: str) -> dict[int, list[str]]:
    """The months to shade and why: stacked bars miss a month when every series does;
    lines and areas when any does (each series' reason, once)."""
    gaps: dict[int, list[str]] = {}
    for i in range(len(series[0].values) if series else 0):
        absent = [s for s in series if s.values[i] is None]
        if not absent or (kind == "stacked" and len(absent) < len(series)):
            continue
        reasons: list[str] = []
        for s in absent:
            text = s.reason(i, missing)
            label = text if kind == "stacked" or len(series) == 1 else f"{s.name}: {text}"
            if label not in reasons:
                reasons.append(label)
        gaps[i] = reasons
    return gaps


def month_ranges(indexes: Sequence[int], months: Sequence[date]) -> str:
    """Months by index as runs: "Dec 2025–Apr 2026, Jun 2026"."""
    runs: list[list[int]] = []
    for index in sorted(indexes):
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return ", ".join(
        month_long_label(months[run[0]])
        if len(run) == 1
        else f"{month_long_label(months[run[0]])}–{month_long_label(months[run[-1]])}"
        for run in runs
    )


def _gap_note(
    kind: Kind, series: Sequence[Series], months: Sequence[date], missing: str
) -> SafeString:
    """Under the chart, one sentence per reason: "No value for Dec 2025–Aug 2026: NRR,
    GRR: not enough history yet." (the series' names when the chart has several)."""
    by_reason: dict[str, tuple[list[str], set[int]]] = {}
    for index, _reasons in _gaps(kind, series, missing).items():
        for s in series:
            if s.values[index] is not None:
                continue
            names, indexes = by_reason.setdefault(s.reason(index, missing), ([], set()))
            if s.name not in names:
                names.append(s.name)
            indexes.add(index)
    if not by_reason:
        return SafeString("")
    sentences = []
    for reason, (names, indexes) in by_reason.items():
        why = reason if kind == "stacked" or len(series) == 1 else f"{', '.join(names)}: {reason}"
        sentences.append(
            gettext("No value for %(months)s: %(reason)s.")
            % {"months": month_ranges(list(indexes), months), "reason": why}
        )
    return format_html('<p class="svg-chart-gaps">{}</p>', " ".join(sentences))


def _bars(
    series: Sequence[Series], frame: _Frame, months: Sequence[date], value_format: Format
) -> list[SafeString]:
    parts = []
    width = frame.slot * 0.62
    for i in range(len(months)):
        base = 0.0
        for s in series:
            value = s.values[i]
            if not value:
                continue
            top = base + value
            parts.append(
                format_html(
                    '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} · {}: {}</title></rect>",
                    _fmt(frame.x(i) - width / 2),
                    _fmt(frame.y(top)),
                    _fmt(width),
                    _fmt(frame.y(base) - frame.y(top)),
                    s.color,
                    s.name,
                    month_long_label(months[i]),
                    value_format(value),
                )
            )
            base = top
    return parts


def chart_description(
    months: Sequence[date], series: Sequence[Series], value_format: Format, missing: str
) -> str:
    """Every month's values in words, for the SVG's <desc> (read by screen readers):
    "Oct 2026: MRR 12,345; Nov 2026: MRR no data (no metrics stored)"."""
    lines = []
    for i, month in enumerate(months):
        values = []
        for s in series:
            v = s.values[i]
            shown = value_format(v) if v is not None else f"— ({s.reason(i, missing)})"
            values.append(f"{s.name} {shown}")
        lines.append(f"{month_long_label(month)}: {', '.join(values)}")
    return "; ".join(lines) + "."
