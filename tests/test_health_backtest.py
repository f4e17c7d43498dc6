"""The back-test on a constructed organization whose churners were idle before they left,
so the score ranks them perfectly. ROC AUC, lift and the back-test days by hand, with no
database, are in metrics/tests/test_backtest.py."""

from datetime import date, timedelta

import pytest

from csplatform.tenancy import tenant_context
from metrics.backtest import backtest, backtest_frame
from metrics.health.model import Model
from tests.factories import (
    AccountFactory,
    DailyUsageFactory,
    OrganizationFactory,
    SubscriptionFactory,
)

TODAY = date(2026, 11, 24)


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
