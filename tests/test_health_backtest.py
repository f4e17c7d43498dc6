"""The back-test on a constructed organization whose churners were idle before they left,
so the score ranks them perfectly. ROC AUC, lift and the back-test days by hand, with no
database, are in metrics/tests/test_backtest.py."""

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Contact
from csplatform.tenancy import tenant_context
from metrics.backtest import backtest, backtest_frame
from metrics.health.model import Model
from surveys.models import ResponseEdit
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DailyUsageFactory,
    OrganizationFactory,
    ResponseEditFactory,
    ResponseFactory,
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


@pytest.mark.django_db
def test_it_scores_a_past_day_with_only_what_was_known_that_day():
    """An answer edited after the as-of day counts with the score it had that day, and
    contacts added later do not count among the account's contacts then."""
    org = OrganizationFactory(time_zone="UTC")
    as_of = date(2026, 7, 31)
    with tenant_context(org):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
        response = ResponseFactory(
            invitation__contact__account=account,
            score=10,
            responded_at=datetime(2026, 7, 30, 12, tzinfo=UTC),
        )
        # Two days after the as-of day, the 2 it said then was edited into a 10.
        edit = ResponseEditFactory(response=response, score=2)
        ResponseEdit.objects.filter(pk=edit.pk).update(
            edited_at=datetime(2026, 8, 2, 9, tzinfo=UTC)
        )
        # A second edit, 7 → 10: the earliest edit after the day holds what it said then.
        later = ResponseEditFactory(response=response, score=7)
        ResponseEdit.objects.filter(pk=later.pk).update(
            edited_at=datetime(2026, 8, 5, 9, tzinfo=UTC)
        )
        Contact.objects.filter(account=account).update(created_at=datetime(2026, 3, 1, tzinfo=UTC))
        ContactFactory(account=account)  # created today, months after the as-of day
        frame = backtest_frame(model=Model(weights={}), today=TODAY)
    july = frame[frame["as_of"] == as_of].set_index("account_id").loc[account.pk]
    assert july["satisfaction"] == 20.0  # NPS 2, as it stood on July 31st
    assert july["contacts"] == 1
