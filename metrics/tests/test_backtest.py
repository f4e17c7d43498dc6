"""The back-test's pure parts: ROC AUC, lift and the days it scores, by hand. The back-test
of a constructed organization (with a database) is tests/test_health_backtest.py."""

from datetime import date

import numpy as np
import pandas as pd

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


def test_it_keeps_tied_scores_in_one_group_whatever_the_row_order():
    # Ten customer-months tied at 0, five of them churned, and 40 distinct scores above.
    scores = np.concatenate([np.zeros(10), np.arange(1, 41, dtype=float)])
    first_five = np.zeros(50, dtype=bool)
    first_five[:5] = True
    last_five = np.zeros(50, dtype=bool)
    last_five[5:10] = True
    shuffled = np.random.default_rng(7).permutation(50)
    tables = [
        lift_table(scores, first_five),
        lift_table(scores, last_five),
        lift_table(scores[shuffled], first_five[shuffled]),
    ]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])
    ties = tables[0].iloc[0]
    assert (ties["accounts"], ties["churned"], ties["low"], ties["high"]) == (10, 5, 0, 0)
    assert ties["lift"] == 5.0  # rate 0.5 against 0.1 overall
    # They are two tenths of the customer-months: the table says which.
    assert (ties["first_tenth"], ties["last_tenth"]) == (1, 2)
    assert tables[0]["accounts"].sum() == 50


def test_it_backtests_the_last_twelve_months_whose_horizon_has_passed():
    days = backtest_days(TODAY)
    # The latest month start with 90 days behind it: 2026-08-01 (until 2026-10-30).
    assert days[-1] == date(2026, 7, 31)
    assert days[0] == date(2025, 8, 31)
    assert len(days) == 12
