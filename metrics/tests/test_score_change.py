"""What moved a score, by hand and without a database: metrics.health.scoring.score_change
(docs/metrics.md, "What moved the score")."""

import pytest

from metrics.health.scoring import score_change


def _points(values, weights):
    present = {c: w for c, w in weights.items() if values.get(c) is not None and w > 0}
    total = sum(present.values())
    return {c: w / total * values[c] for c, w in present.items()}


def _change(values_before, values_now, weights_before, weights_now=None):
    weights_now = weights_now or weights_before
    return score_change(
        values_before=values_before,
        points_before=_points(values_before, weights_before),
        values_now=values_now,
        points_now=_points(values_now, weights_now),
    )


def test_it_gives_nothing_to_components_whose_value_did_not_change():
    parts = _change(
        {"engagement": 50.0, "adoption": 0.0},
        {"engagement": 50.0, "adoption": 0.0, "satisfaction": 90.0},
        {"engagement": 25, "adoption": 15, "satisfaction": 20},
    )
    moved = {(kind, c): p for kind, c, p in parts if abs(p) > 1e-9}
    # Before: 25·50 ÷ 40 = 31.25; now: (25·50 + 20·90) ÷ 60 = 50.83.
    assert moved == {("measured", "satisfaction"): pytest.approx(3050 / 60 - 31.25)}


def test_it_shares_a_change_equally_when_no_old_component_is_left_to_score():
    # Satisfaction (90) aged out the week engagement (50) was first measured.
    parts = _change(
        {"satisfaction": 90.0}, {"engagement": 50.0}, {"engagement": 1, "satisfaction": 1}
    )
    assert {(kind, c): p for kind, c, p in parts if p} == {
        ("unmeasured", "satisfaction"): pytest.approx(-20.0),
        ("measured", "engagement"): pytest.approx(-20.0),
    }


def test_it_adds_up_to_the_change_with_weights_and_zeros_moving_too():
    before = {"engagement": 0.0, "adoption": 0.0, "satisfaction": 70.0, "outcomes": 50.0}
    now = {"engagement": 10.0, "adoption": 0.0, "revenue_trend": 75.0, "outcomes": 50.0}
    old_weights = {"engagement": 25, "adoption": 15, "satisfaction": 20, "outcomes": 10}
    new_weights = {**old_weights, "revenue_trend": 15, "outcomes": 30}
    parts = _change(before, now, old_weights, new_weights)
    score = lambda values, weights: sum(_points(values, weights).values())  # noqa: E731
    assert sum(p for _k, _c, p in parts) == pytest.approx(
        score(now, new_weights) - score(before, old_weights)
    )
    by = {(kind, c): p for kind, c, p in parts}
    assert by["value", "adoption"] == 0
    assert by["value", "outcomes"] == 0
    assert by["weights", None] != 0
