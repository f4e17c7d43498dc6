"""The server-side sparkline (csplatform.sparkline): points scaled on a shared axis,
safe markup, nothing for fewer than two values."""

from csplatform.sparkline import sparkline_points, sparkline_svg


def test_it_spreads_the_points_and_scales_them_between_low_and_high():
    points = sparkline_points([0, 50, 100], low=0, high=100, width=84, height=24)
    # Inside a 2-px pad: x from 2 to 82, y from 22 (low) to 2 (high).
    assert points == [(2.0, 22.0), (42.0, 12.0), (82.0, 2.0)]


def test_it_clamps_values_outside_the_scale():
    assert sparkline_points([-10, 120], low=0, high=100, width=84, height=24) == [
        (2.0, 22.0),
        (82.0, 2.0),
    ]


def test_it_draws_nothing_for_fewer_than_two_values():
    assert sparkline_svg([], label="x") == ""
    assert sparkline_svg([42.0], label="x") == ""


def test_it_draws_a_labelled_svg_without_inline_style():
    svg = sparkline_svg([10, 20, 30], label='Score <b>"trend"</b>')
    assert svg.startswith('<svg class="sparkline"')
    assert 'role="img"' in svg
    assert 'aria-label="Score &lt;b&gt;&quot;trend&quot;&lt;/b&gt;"' in svg
    assert "style" not in svg
    assert "<polyline" in svg
    assert "<circle" in svg
