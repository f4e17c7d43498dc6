"""Batches of customer data: validated whole, written all or nothing, idempotent."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.customers import accounts_upsert, contacts_upsert, subscriptions_upsert
from accounts.models import Account, Contact, Role, Subscription
from csplatform.batches import RowsRejected
from csplatform.tenancy import tenant_context
from journeys.ingest import events_ingest, touchpoints_record
from journeys.models import (
    DailyContactUsage,
    DailyFeatureUsage,
    DailyUsage,
    Touchpoint,
    TouchpointType,
    UsageEvent,
)
from journeys.rollups import usage_roll_up
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.fixture
def org():
    organization = OrganizationFactory(currency="BRL", time_zone="America/Sao_Paulo")
    with tenant_context(organization):
        yield organization


def _account(external_id="a1", **extra):
    return {"external_id": external_id, "name": f"Account {external_id}", **extra}


def _fields(excinfo):
    return [(e.row, e.field) for e in excinfo.value.errors]


# --- accounts ---------------------------------------------------------------


def test_it_creates_then_updates_accounts_by_external_id(org):
    assert accounts_upsert([_account("a1"), _account("a2")]).as_dict()["created"] == 2
    result = accounts_upsert([_account("a1", name="Renamed"), _account("a2")])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert Account.objects.get(external_id="a1").name == "Renamed"


def test_it_changes_nothing_when_the_same_rows_come_again(org):
    rows = [_account("a1", segment="SMB", signup_date=date(2025, 3, 1))]
    accounts_upsert(rows)
    stamp = Account.objects.get().updated_at
    assert accounts_upsert(rows).unchanged == 1
    assert Account.objects.get().updated_at == stamp


def test_it_sets_an_owner_who_is_a_member(org):
    member = MembershipFactory(organization=org, role=Role.MANAGER).user
    accounts_upsert([_account("a1", owner_email=member.email.upper())])
    assert Account.objects.get().owner == member


def test_it_refuses_an_owner_who_is_not_a_member_and_writes_nothing(org):
    outsider = MembershipFactory(role=Role.OWNER).user
    with pytest.raises(RowsRejected) as rejected:
        accounts_upsert([_account("a1"), _account("a2", owner_email=outsider.email)])
    assert _fields(rejected) == [(1, "owner_email")]
    assert not Account.objects.exists()


def test_it_refuses_duplicate_external_ids_in_one_batch(org):
    with pytest.raises(RowsRejected) as rejected:
        accounts_upsert([_account("a1"), _account("a2"), _account("a1")])
    assert _fields(rejected) == [(2, "external_id")]
    assert "a1 appears more than once" in str(rejected.value.errors[0].message)


def test_it_merges_custom_attributes(org):
    accounts_upsert([_account("a1", custom_attributes={"plan_tier": "gold"})])
    accounts_upsert([_account("a1", custom_attributes={"region": "Sul"})])
    assert Account.objects.get().custom_attributes == {"plan_tier": "gold", "region": "Sul"}


# --- contacts -----------------------------------------------------------------


def test_it_upserts_contacts_by_account_and_email(org):
    accounts_upsert([_account("a1")])
    rows = [
        {
            "account_external_id": "a1",
            "email": "Ana@Cliente.com.br",
            "name": "Ana",
            "locale": "pt-br",
        }
    ]
    assert contacts_upsert(rows).created == 1
    assert contacts_upsert(rows).unchanged == 1
    assert Contact.objects.get().email == "ana@cliente.com.br"


def test_it_refuses_a_contact_of_an_unknown_account(org):
    with pytest.raises(RowsRejected) as rejected:
        contacts_upsert([{"account_external_id": "nope", "email": "x@example.com"}])
    assert _fields(rejected) == [(0, "account_external_id")]
    assert "nope" in str(rejected.value.errors[0].message)


# --- subscriptions ------------------------------------------------------------


def _subscription(external_id="s1", **extra):
    return {
        "external_id": external_id,
        "account_external_id": "a1",
        "plan": "Pro",
        "amount_cents": 120_000,
        "currency": "BRL",
        "billing_interval": "year",
        "started_on": date(2025, 1, 1),
        "ended_on": None,
        **extra,
    }


def test_it_records_an_upgrade_as_history(org):
    accounts_upsert([_account("a1")])
    subscriptions_upsert([_subscription("s1")])
    result = subscriptions_upsert(
        [
            _subscription("s1", ended_on=date(2025, 7, 1)),
            _subscription("s2", amount_cents=240_000, started_on=date(2025, 7, 1)),
        ]
    )
    assert (result.created, result.updated) == (1, 1)
    history = list(
        Subscription.objects.order_by("started_on").values_list("external_id", "ended_on")
    )
    assert history == [("s1", date(2025, 7, 1)), ("s2", None)]
    assert Subscription.objects.get(external_id="s1").mrr_cents == 10_000


def test_it_never_overwrites_a_subscriptions_price(org):
    accounts_upsert([_account("a1")])
    subscriptions_upsert([_subscription("s1")])
    with pytest.raises(RowsRejected) as rejected:
        subscriptions_upsert([_subscription("s1", amount_cents=1)])
    assert _fields(rejected) == [(0, "amount_cents")]
    assert "never overwritten" in str(rejected.value.errors[0].message)
    assert Subscription.objects.get().amount_cents == 120_000


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"amount_cents": -5}, "amount", "negative"),
        ({"currency": "USD"}, "currency", "BRL"),
        ({"ended_on": date(2024, 12, 31)}, "ended_on", "before started_on"),
        ({"billing_interval": "weekly"}, "billing_interval", "month, quarter or year"),
        ({"account_external_id": "ghost"}, "account_external_id", "ghost"),
    ],
)
def test_it_refuses_a_bad_subscription_naming_the_field(org, change, field, words):
    accounts_upsert([_account("a1")])
    with pytest.raises(RowsRejected) as rejected:
        subscriptions_upsert([_subscription("ok"), _subscription("bad", **change)])
    assert (1, field) in _fields(rejected)
    assert words in " ".join(str(e.message) for e in rejected.value.errors)
    assert not Subscription.objects.exists()


# --- events -----------------------------------------------------------------------


def _event(when, **extra):
    return {"account_external_id": "a1", "name": "report.generated", "occurred_at": when, **extra}


@pytest.fixture
def customer(org):
    accounts_upsert([_account("a1"), _account("a2")])
    contacts_upsert([{"account_external_id": "a1", "email": "ana@cliente.com.br"}])
    return org


def test_it_records_events_and_rolls_them_up_by_day_in_the_organizations_time_zone(customer):
    late_evening = datetime(2026, 3, 10, 23, 30, tzinfo=SAO_PAULO)  # 02:30 UTC on the 11th
    rows = [
        _event(late_evening, quantity=Decimal("2.5"), contact_email="ANA@cliente.com.br"),
        _event(late_evening + timedelta(minutes=10), name="export.csv"),
        _event(late_evening + timedelta(hours=1)),  # 00:30 on the 11th, local
        {**_event(late_evening), "account_external_id": "a2"},
    ]
    assert events_ingest(rows).created == 4
    assert usage_roll_up() == 4

    days = dict(DailyUsage.objects.filter(account__external_id="a1").values_list("day", "events"))
    assert days == {date(2026, 3, 10): 2, date(2026, 3, 11): 1}
    assert DailyUsage.objects.get(
        account__external_id="a1", day=date(2026, 3, 10)
    ).quantity == Decimal("2.5")
    features = set(
        DailyFeatureUsage.objects.values_list("account__external_id", "feature", "day", "events")
    )
    assert ("a1", "export.csv", date(2026, 3, 10), 1) in features
    assert DailyContactUsage.objects.get().events == 1
    assert UsageEvent.objects.get(quantity=Decimal("2.5")).contact.email == "ana@cliente.com.br"


def test_it_skips_a_repeated_event_and_does_not_count_it_twice(customer):
    when = timezone.now() - timedelta(hours=2)
    rows = [_event(when, external_id="evt-1"), _event(when, name="login")]
    events_ingest(rows)
    usage_roll_up()
    again = events_ingest([*rows, _event(when, name="login")])  # the retry, plus a duplicate
    assert (again.created, again.unchanged) == (0, 3)
    assert UsageEvent.objects.count() == 2
    assert usage_roll_up() == 0
    assert DailyUsage.objects.get(account__external_id="a1").events == 2


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"account_external_id": "ghost"}, "account_external_id"),
        ({"contact_email": "nobody@cliente.com.br"}, "contact_email"),
        ({"occurred_at": timezone.now() + timedelta(days=1)}, "occurred_at"),
    ],
)
def test_it_refuses_a_batch_with_a_bad_event_and_writes_none(customer, row, field):
    good = _event(timezone.now() - timedelta(hours=1))
    with pytest.raises(RowsRejected) as rejected:
        events_ingest([good, {**good, "name": "other", **row}])
    assert _fields(rejected) == [(1, field)]
    assert not UsageEvent.objects.exists()
    assert not DailyUsage.objects.exists()


def test_it_refuses_more_than_ten_thousand_events(customer):
    with pytest.raises(RowsRejected, match="1 problem"):
        events_ingest([_event(timezone.now())] * 10_001)


# --- touchpoints ----------------------------------------------------------------


def test_it_records_touchpoints_creating_new_types_and_skipping_repeats(customer):
    when = timezone.now() - timedelta(days=1)
    rows = [
        {
            "account_external_id": "a1",
            "touchpoint": "QBR",
            "occurred_at": when,
            "sentiment": "positive",
        },
        {
            "account_external_id": "a2",
            "touchpoint": "Support ticket",
            "occurred_at": when,
            "sentiment": "negative",
            "notes": "Slow export",
        },
    ]
    assert touchpoints_record(rows).created == 2
    assert touchpoints_record(rows).unchanged == 2
    assert Touchpoint.objects.count() == 2
    assert set(TouchpointType.objects.values_list("name", flat=True)) == {"QBR", "Support ticket"}


def test_it_refuses_an_unknown_sentiment(customer):
    with pytest.raises(RowsRejected) as rejected:
        touchpoints_record(
            [
                {
                    "account_external_id": "a1",
                    "touchpoint": "QBR",
                    "occurred_at": timezone.now(),
                    "sentiment": "angry",
                }
            ]
        )
    assert _fields(rejected) == [(0, "sentiment")]
