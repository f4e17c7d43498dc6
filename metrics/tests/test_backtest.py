"""The back-test's pure parts: ROC AUC, lift and the days it scores, by hand. The back-test
of a constructed organization (with a database) is tests/test_health_backtest.py."""

from datetime import date

import numpy as np

from metrics.backtest import backtest_days, lift_table, roc_auc

TODAY = date(2026, 11, 24)


def test_it_computes_the_auc_as_the_share_of_churner_stayer_pairs_ranked_right():
    # Pairs (churner, stayer): (10, 20) right, (10, 40) right, (30, 20) wrong, (30, 40) right.
    assert roc_auc(np.array([10, 20, 30, 40]), np.array([1, 0, 1, 0])) == 0.75


def test_it_counts_a_tie_as_half():
    assert roc_auc(np.array([10.0, 10.0]), np.array([True, False])) == 0.5


def test_it_has_no_auc_without_both_churners_and_stayers():
    assert roc_auc(np.array([10.0, 20.0]), np.array([False, False])) is None


def test_it_builds_the_lift_table_lowest_scores_first():
    scores = np.arange(10, dtype=float)
    churned = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    table = lift_table(scores, churned, groups=5)
    assert table["accounts"].tolist() == [2, 2, 2, 2, 2]
    assert table["churned"].tolist() == [2, 0, 0, 0, 0]
    assert table["rate"].tolist() == [1.0, 0, 0, 0, 0]
    assert table["lift"].tolist() == [5.0, 0, 0, 0, 0]  # overall rate 0.2


def test_it_backtests_the_last_twelve_months_whose_horizon_has_passed():
    days = backtest_days(TODAY)
    # The latest month start with 90 days behind it: 2026-08-01 (until 2026-10-30).
    assert days[-1] == date(2026, 7, 31)
    assert days[0] == date(2025, 8, 31)
    assert len(days) == 12
