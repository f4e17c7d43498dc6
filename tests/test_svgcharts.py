"""The small SVG charts drawn on the server (csplatform.svgcharts): values to paths, gaps
with their reason (never a zero), labels in the reader's language, accessible text."""

import itertools
import re
from datetime import date

import pytest
from django.utils import translation
from django.utils.formats import number_format

from csplatform.svgcharts import Series, nice_ticks, svg_chart

MONTHS = [date(2026, m, 1) for m in range(9, 13)] + [date(2027, 1, 1)]


def _number(value):
    return number_format(value, 1, use_l10n=True, force_grouping=True)


def _chart(values, *, kind="line", series=None, **kwargs):
    return str(
        svg_chart(
            element_id="c",
            title="MRR",
            months=MONTHS[: len(values or series[0].values)],
            series=series or [Series("MRR", values, "#0969da", kwargs.pop("reasons", ()))],
            kind=kind,
            tick_format=_number,
            **kwargs,
        )
    )


def _points(path):
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+) (-?[\d.]+)", path)]


def _line_paths(svg):
    return re.findall(r'<path class="chart-line" d="([^"]+)"', svg)


def test_it_draws_a_line_through_the_values_evenly_spaced():
    values = [1000.0, 4000.0, 2500.0, 3000.0]
    (path,) = _line_paths(_chart(values))
    points = _points(path)
    assert len(points) == 4
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    steps = [b - a for a, b in itertools.pairwise(xs)]
    assert max(steps) - min(steps) < 0.25  # one slot per month (coordinates to 0.1)
    # Higher values are drawn higher (smaller y), linearly.
    scale = (ys[0] - ys[1]) / (values[1] - values[0])
    assert scale > 0
    for value, y in zip(values, ys, strict=True):
        assert ys[0] - y == pytest.approx(scale * (value - values[0]), abs=0.15)


def test_it_breaks_the_line_at_a_gap_and_says_why_instead_of_drawing_a_zero():
    svg = _chart(
        [10.0, 12.0, None, 14.0, 15.0],
        reasons=[None, None, "no metrics stored for the month", None, None],
    )
    paths = _line_paths(svg)
    assert len(paths) == 2  # the line stops before the gap and starts again after it
    assert [len(_points(p)) for p in paths] == [2, 2]
    assert svg.count("<circle") == 4  # no point for the missing month
    assert "<title>Nov 2026: no metrics stored for the month</title>" in svg
    assert "MRR — (no metrics stored for the month)" in svg  # the description
    assert "No value for Nov 2026: no metrics stored for the month." in svg  # under it
    zero_row = re.search(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end"[^>]*>0\.0</text>', svg)
    assert zero_row is None  # the axis did not stretch down to a fake zero


def test_it_fills_an_area_down_to_zero_per_run_of_values():
    svg = _chart([5.0, None, 8.0, 9.0], kind="area")
    areas = re.findall(r'<path d="([^"]+Z)" fill="#0969da" fill-opacity', svg)
    assert len(areas) == 2
    ys = [p[1] for p in _points(areas[1])]
    assert ys[0] == ys[-1] == max(ys)  # closed along the baseline


def test_it_stacks_bars_and_leaves_a_month_without_any_value_empty():
    series = [
        Series("Healthy", [3, 0, None], "#1a7f37"),
        Series("At risk", [1, 2, None], "#cf222e"),
    ]
    svg = _chart(None, kind="stacked", series=series, missing="no health snapshot")
    bars = re.findall(
        r'<rect class="chart-bar" x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg
    )
    healthy, at_risk, second = ((float(x), float(y), float(h)) for x, y, h in bars)
    assert healthy[0] == at_risk[0]  # the same month's bar
    assert healthy[2] == pytest.approx(3 * at_risk[2], abs=0.15)
    assert at_risk[1] + at_risk[2] == pytest.approx(healthy[1], abs=0.15)  # on top of it
    assert second[2] == pytest.approx(2 * at_risk[2], abs=0.15)
    assert "<title>Nov 2026: no health snapshot</title>" in svg
    assert "<title>Oct 2026: " not in svg  # zero healthy customers is a value, not a gap


def test_it_labels_months_and_numbers_in_portuguese():
    values = [1234.5, 2000.0, 1500.0, 1800.0, 2100.0]
    with translation.override("pt-br"):
        svg = _chart(values)
    labels = re.findall(r'text-anchor="middle"[^>]*>([^<]+)</text>', svg)
    assert labels[:3] == ["Set", "2026", "Out"]
    assert "Jan" in labels
    assert "2027" in labels  # the year under January
    assert "1.234,5" in svg  # the description, Brazilian separators
    assert "2.000,0" in svg  # an axis tick
    with translation.override("en"):
        english = _chart(values)
    assert "Sep" in english
    assert "1,234.5" in english


def test_it_labels_a_second_axis_as_a_multiple_of_the_first():
    svg = _chart([100.0, 200.0], secondary=("ARR", 12))
    right = re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="start"[^>]*>([^<]+)<', svg)
    assert "2,400.0" in [label for _x, label in right]  # 200 × 12 on the right
    plot_end = max(float(x) for x in re.findall(r'<line x1="[\d.]+" x2="([\d.]+)"', svg))
    assert all(float(x) > plot_end for x, _label in right)  # outside the plot
    assert "<li>ARR: the axis on the right</li>" in svg


def test_it_is_an_accessible_image_with_every_value_in_its_description():
    svg = _chart([1.0, 2.0])
    assert 'role="img" aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">MRR</title>' in svg
    desc = re.search(r'<desc id="c-desc">([^<]+)</desc>', svg)[1]
    assert desc == "Sep 2026: MRR 1.0; Oct 2026: MRR 2.0."


def test_it_escapes_names_and_titles():
    svg = str(
        svg_chart(
            element_id="c",
            title="<b>t</b>",
            months=MONTHS[:1],
            series=[Series("<script>x</script>", [1.0], "#000")],
            tick_format=str,
        )
    )
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_it_picks_round_ticks_around_the_values():
    assert nice_ticks(0, 97) == [0, 50, 100]
    assert nice_ticks(88, 112) == [80, 90, 100, 110, 120]
    assert nice_ticks(-18, 9) == [-20, -10, 0, 10]
    assert nice_ticks(5, 5) == [4.5, 5, 5.5]


def test_it_sums_up_the_gaps_of_several_series_by_reason_and_run_of_months():
    history = "not enough history"
    series = [
        Series("NRR", [None, None, None, 1.0, 1.1], "#000", [history] * 3),
        Series("GRR", [None, None, None, 0.9, None], "#111", [history] * 3 + [None, "later"]),
    ]
    svg = str(svg_chart(element_id="c", title="t", months=MONTHS, series=series, tick_format=str))
    assert "No value for Sep 2026–Nov 2026: NRR, GRR: not enough history." in svg
    assert "No value for Jan 2027: GRR: later." in svg


def test_it_keeps_a_stacked_axis_at_zero_and_up_when_every_month_is_missing():
    series = [Series("Healthy", [None, None], "#1a7f37"), Series("At risk", [None, None], "#c00")]
    svg = _chart(None, kind="stacked", series=series, missing="no health snapshot")
    ticks = re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', svg)
    assert ticks[0] == "0.0"
    assert not any(t.startswith("-") for t in ticks)
    assert "No value for Sep 2026–Oct 2026: no health snapshot." in svg
