"""The back-test on a constructed organization whose churners were idle before they left,
so the score ranks them perfectly. ROC AUC, lift and the back-test days by hand, with no
database, are in metrics/tests/test_backtest.py."""

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.models import Contact
from csplatform.tenancy import tenant_context
from journeys.models import Touchpoint
from metrics.backtest import backtest, backtest_frame
from metrics.health.inputs import health_inputs
from metrics.health.model import Model
from metrics.health.scoring import NEGATIVE_TOUCHPOINT_POINTS
from metrics.services import subscriptions_frame
from surveys.models import ResponseEdit
from surveys.services import response_record
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DailyContactUsageFactory,
    DailyUsageFactory,
    OrganizationFactory,
    ResponseEditFactory,
    ResponseFactory,
    SubscriptionFactory,
    SurveyInvitationFactory,
    TouchpointFactory,
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


@pytest.mark.django_db
def test_it_counts_a_contact_loaded_later_on_a_past_day_it_was_seen(time_machine):
    """A tenant that loads its history at onboarding creates every contact today: on a
    past day a contact is known if it was created by then or if an event or an answer
    of it happened by then. One created today with nothing by the day is not."""
    time_machine.move_to(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False)
    org = OrganizationFactory(time_zone="UTC")
    as_of = date(2026, 7, 31)
    with tenant_context(org):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
        used_on_the_day, answered, seen_later = (ContactFactory(account=account) for _ in range(3))
        ContactFactory(account=account)  # nothing of it, ever
        DailyContactUsageFactory(contact=used_on_the_day, day=as_of)
        ResponseFactory(
            invitation__contact=answered, responded_at=datetime(2026, 6, 1, 9, tzinfo=UTC)
        )
        DailyContactUsageFactory(contact=seen_later, day=date(2026, 8, 1))
        ResponseFactory(
            invitation__contact=seen_later, responded_at=datetime(2026, 8, 1, 0, tzinfo=UTC)
        )
        assert not Contact.objects.filter(created_at__lt=datetime(2026, 11, 24, tzinfo=UTC))
        inputs = health_inputs(subscriptions_frame(), as_of, hindsight=True)
    usage = inputs.usage.set_index("account_id").loc[account.pk]
    assert (usage["active_contacts"], usage["contacts"]) == (1, 2)


def _answer(invitation, score: int, at: datetime, time_machine) -> None:
    """Give (or change) the invitation's answer at `at`, through the answer service, so
    the touchpoint of a negative answer is recorded and withdrawn as in production."""
    time_machine.move_to(at, tick=False)
    response_record(invitation=invitation, score=score, automatic=False)


def _support_load_on(as_of: date, account_id: int) -> float:
    frame = backtest_frame(model=Model(weights={}), today=TODAY)
    return frame[frame["as_of"] == as_of].set_index("account_id").loc[account_id, "support_load"]


@pytest.mark.django_db
def test_it_counts_an_answer_negative_that_day_in_the_support_load_though_edited_later(
    time_machine,
):
    """A detractor's answer on the as-of day was a negative touchpoint that day; edited
    into a promoter three days later, its touchpoint is deleted, but the back-test still
    counts it for that day."""
    org = OrganizationFactory(time_zone="UTC")
    as_of = date(2026, 7, 31)
    with tenant_context(org):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
        invitation = SurveyInvitationFactory(contact__account=account)
        _answer(invitation, 2, datetime(2026, 7, 31, 10, tzinfo=UTC), time_machine)
        assert Touchpoint.objects.filter(account=account, sentiment="negative").count() == 1
        _answer(invitation, 10, datetime(2026, 8, 3, 10, tzinfo=UTC), time_machine)
        assert not Touchpoint.objects.filter(account=account).exists()
        time_machine.move_to(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False)
        support_load = _support_load_on(as_of, account.pk)
    assert support_load == 100 - NEGATIVE_TOUCHPOINT_POINTS


@pytest.mark.django_db
def test_it_leaves_an_answer_made_negative_after_the_day_out_of_its_support_load(
    time_machine,
):
    """A promoter's answer on the as-of day, edited into a detractor's later: its
    touchpoint (dated when the answer was given) was not known that day."""
    org = OrganizationFactory(time_zone="UTC")
    as_of = date(2026, 7, 31)
    with tenant_context(org):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
        # A neutral call that week: touchpoints were recorded, so the component exists.
        TouchpointFactory(account=account, occurred_at=datetime(2026, 7, 20, tzinfo=UTC))
        invitation = SurveyInvitationFactory(contact__account=account)
        _answer(invitation, 10, datetime(2026, 7, 31, 10, tzinfo=UTC), time_machine)
        _answer(invitation, 2, datetime(2026, 8, 3, 10, tzinfo=UTC), time_machine)
        assert Touchpoint.objects.filter(account=account, sentiment="negative").count() == 1
        time_machine.move_to(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False)
        support_load = _support_load_on(as_of, account.pk)
    assert support_load == 100


@pytest.mark.django_db
def test_it_counts_todays_support_load_from_the_touchpoints_as_they_are(time_machine):
    """Scoring today (not in hindsight) reads the touchpoints on file: the answer edited
    into a promoter's no longer counts, the one edited into a detractor's does."""
    org = OrganizationFactory(time_zone="UTC")
    as_of = date(2026, 8, 5)
    with tenant_context(org):
        withdrawn, made_negative = AccountFactory(), AccountFactory()
        for account, scores in ((withdrawn, (2, 10)), (made_negative, (10, 2))):
            SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
            invitation = SurveyInvitationFactory(contact__account=account)
            _answer(invitation, scores[0], datetime(2026, 7, 31, 10, tzinfo=UTC), time_machine)
            _answer(invitation, scores[1], datetime(2026, 8, 3, 10, tzinfo=UTC), time_machine)
        time_machine.move_to(datetime(2026, 8, 5, 12, tzinfo=UTC), tick=False)
        inputs = health_inputs(subscriptions_frame(), as_of)
    assert inputs.negatives.set_index("account_id")["negatives"].to_dict() == {made_negative.pk: 1}
    assert inputs.touchpoints_recorded


def _at(day: int, month: int = 8) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answers", "negatives"),
    [
        ([(_at(31, 7), 2)], 1),
        ([(_at(31, 7), 9)], 0),
        ([(_at(31, 7), 2), (_at(2), 5)], 1),  # still a detractor: one touchpoint throughout
        ([(_at(31, 7), 2), (_at(2), 10), (_at(4), 0)], 1),  # withdrawn, then recorded again
        ([(_at(31, 7), 10), (_at(2), 2), (_at(4), 10)], 0),  # recorded, then withdrawn
        ([(_at(28, 7), 2), (_at(30, 7), 10), (_at(2), 3)], 0),  # a promoter's on the day
        ([(_at(28, 7), 10), (_at(30, 7), 2), (_at(2), 10)], 1),  # a detractor's on the day
    ],
)
def test_it_counts_each_answer_once_as_it_stood_at_the_end_of_the_day(
    time_machine, answers, negatives
):
    org = OrganizationFactory(time_zone="UTC")
    with tenant_context(org):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
        TouchpointFactory(account=account, occurred_at=datetime(2026, 7, 20, tzinfo=UTC))
        invitation = SurveyInvitationFactory(contact__account=account)
        for at, score in answers:
            _answer(invitation, score, at, time_machine)
        time_machine.move_to(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False)
        support_load = _support_load_on(date(2026, 7, 31), account.pk)
    assert support_load == 100 - NEGATIVE_TOUCHPOINT_POINTS * negatives
