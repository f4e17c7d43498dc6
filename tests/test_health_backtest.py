"""The back-test: ROC AUC and lift by hand, and a constructed organization whose churners
were idle before they left, so the score ranks them perfectly."""

from datetime import date, timedelta

import numpy as np
import pytest

from csplatform.tenancy import tenant_context
from metrics.backtest import backtest, backtest_days, backtest_frame, lift_table, roc_auc
from metrics.health import Model
from tests.factories import (
    AccountFactory,
    DailyUsageFactory,
    OrganizationFactory,
    SubscriptionFactory,
)

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


@pytest.mark.django_db
def test_it_ranks_idle_churners_below_active_stayers_with_an_auc_of_one():
    org = OrganizationFactory(time_zone="UTC")
    as_of = date(2026, 7, 31)
    with tenant_context(org):
        for n in range(4):
            churns = n < 2
            account = AccountFactory()
            SubscriptionFactory(
                account=account,
                started_on=date(2026, 1, 1),
                ended_on=date(2026, 9, 15) if churns else None,
            )
            if not churns:  # the stayers were active in July; the churners were not
                for offset in range(n * 3):
                    DailyUsageFactory(account=account, day=as_of - timedelta(days=offset))
        frame = backtest_frame(model=Model(weights={}), today=TODAY)
        result = backtest(frame, Model(weights={"engagement": 1}))
        satisfaction_only = backtest(frame, Model(weights={"satisfaction": 1}))
    july = next(m for m in result.months if m.as_of == as_of)
    assert (july.customers, july.churned, july.auc) == (4, 2, 1.0)
    # A month earlier the churners were already within 90 days of leaving, but nobody
    # had been active yet: all tied, chance. Before that, nobody churned within 90 days.
    june = next(m for m in result.months if m.as_of == date(2026, 6, 30))
    assert (june.churned, june.auc) == (2, 0.5)
    assert all(m.auc is None for m in result.months if m.as_of < date(2026, 6, 30))
    assert result.churned == 4
    # No answers at all: no account has that component, so nothing is scored.
    assert satisfaction_only.customers == 0
    assert satisfaction_only.auc is None
