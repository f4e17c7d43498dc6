"""The Stripe connector's core against localstripe, a real fake Stripe server on
loopback (tests/localstripe.py), driven by the official `stripe` library: a history
created month by month (the server's clock moved by faketime), backfilled, then followed
by events; each month's MRR, movements and customers compared with values computed here,
independently, from what was created."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
import stripe
import time_machine
from django.db import transaction

from accounts import fx
from accounts.models import Account, Contact, Subscription
from accounts.signals import import_completed, revenue_changed
from billing.stripe_sync import (
    customer_sync,
    customers_page,
    event_customer_id,
    stripe_client,
    stripe_history_announce,
)
from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from metrics.selectors import months_between
from metrics.services import metrics_recompute
from tests.factories import OrganizationFactory
from tests.localstripe import API_KEY, LocalStripe, localstripe_server  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"

# Django's clock during these tests (the organization's "today": 20 July 2026).
TODAY = datetime(2026, 7, 20, 15, tzinfo=UTC)

# Plans as localstripe serves them (the Plans era): amount, interval, interval count.
PLANS = {
    "basic": (5_000, "month", 1),
    "pro": (12_000, "month", 1),
    "seat": (2_000, "month", 1),
    "team": (30_000, "month", 3),
    "enterprise": (240_000, "year", 1),
}
USD_PLAN = ("pro_usd", 9_900, "month", 1)


def _at(month: int, day: int) -> datetime:
    # 15:00 UTC is noon in São Paulo, the organization's time zone: the same day.
    return datetime(2026, month, day, 15, tzinfo=UTC)


# What happens in Stripe, in order: (instant, customer, action, plan, quantity).
HISTORY = [
    (_at(1, 10), "A", "subscribe", "basic", 1),
    (_at(1, 15), "B", "subscribe", "seat", 5),
    (_at(1, 20), "C", "subscribe", "team", 1),
    (_at(2, 5), "D", "subscribe", "enterprise", 1),
    (_at(2, 12), "E", "subscribe", "pro", 1),
    (_at(3, 3), "A", "change", "pro", 1),  # an upgrade
    (_at(3, 18), "B", "change", "seat", 3),  # a downgrade (quantity)
    (_at(4, 8), "C", "cancel", None, 0),
    (_at(4, 22), "E", "cancel", None, 0),
    (_at(5, 5), "F", "subscribe", "basic", 1),
    (_at(5, 20), "F", "cancel", None, 0),  # in and out within May: never counts
    (_at(6, 9), "E", "subscribe", "pro", 1),  # back: a reactivation
]
# After the backfill, followed through events.
LATER = [
    (_at(7, 3), "D", "change", "enterprise", 2),
    (_at(7, 6), "G", "subscribe", "basic", 1),
    (_at(7, 8), "A", "cancel", None, 0),
]


# --- driving localstripe ---------------------------------------------------------------


@dataclass
class Stripe:
    server: LocalStripe
    client: stripe.StripeClient
    customers: dict[str, str]  # our name → Stripe customer id
    subscriptions: dict[str, str]  # our name → the customer's live subscription id


def _play(stripe_: Stripe, steps: list[tuple]) -> None:
    client = stripe_.client
    for instant, name, action, plan, quantity in steps:
        stripe_.server.move_to(instant)
        if name not in stripe_.customers:
            customer = client.v1.customers.create(
                {
                    "name": f"Customer {name}",
                    "email": f"{name.lower()}@example.com",
                    "payment_method": "pm_card_visa",
                    "invoice_settings": {"default_payment_method": "pm_card_visa"},
                }
            )
            stripe_.customers[name] = customer["id"]
        if action == "subscribe":
            subscription = client.v1.subscriptions.create(
                {
                    "customer": stripe_.customers[name],
                    "items": [{"plan": plan, "quantity": quantity}],
                }
            )
            assert subscription["status"] == "active"
            stripe_.subscriptions[name] = subscription["id"]
        elif action == "change":
            subscription = client.v1.subscriptions.retrieve(stripe_.subscriptions[name])
            item = subscription.to_dict()["items"]["data"][0]["id"]
            client.v1.subscriptions.update(
                subscription["id"],
                {"items": [{"id": item, "plan": plan, "quantity": quantity}]},
            )
        elif action == "cancel":
            client.v1.subscriptions.cancel(stripe_.subscriptions[name])


@pytest.fixture
def stripe_(localstripe_server, settings):  # noqa: F811 (the fixture imported above)
    localstripe_server.flush()
    localstripe_server.move_to(_at(1, 1))
    settings.STRIPE_API_BASE = localstripe_server.url
    client = stripe_client(API_KEY)
    for plan, (amount, interval, count) in PLANS.items():
        client.v1.plans.create(
            {
                "id": plan,
                "amount": amount,
                "currency": "brl",
                "interval": interval,
                "interval_count": count,
                "product": {"name": plan.title()},
            }
        )
    plan, amount, interval, count = USD_PLAN
    client.v1.plans.create(
        {
            "id": plan,
            "amount": amount,
            "currency": "usd",
            "interval": interval,
            "interval_count": count,
            "product": {"name": "Pro (USD)"},
        }
    )
    return Stripe(localstripe_server, client, {}, {})


@pytest.fixture
def clock():
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture
def org(clock):
    return OrganizationFactory(currency="BRL", time_zone="America/Sao_Paulo")


def _backfill(client: stripe.StripeClient, organization, *, limit: int = 100) -> list[str]:
    """What the connector's backfill task does: page by page, customer by customer."""
    synced = []
    cursor = None
    while True:
        ids, cursor = customers_page(client, starting_after=cursor, limit=limit)
        for customer_id in ids:
            with tenant_context(organization), transaction.atomic():
                customer_sync(client, customer_id)
            synced.append(customer_id)
        if cursor is None:
            return synced


# --- the expected history, computed from HISTORY alone ---------------------------------


def _segments(steps: list[tuple]) -> dict[str, list[tuple[date, date | None, int]]]:
    """Each customer's MRR periods: (first day, first day no longer served, MRR cents)."""
    segments: dict[str, list[list[Any]]] = defaultdict(list)
    for instant, name, action, plan, quantity in steps:
        day = instant.date()
        if action in ("change", "cancel"):
            segments[name][-1][1] = day
        if action in ("subscribe", "change"):
            amount, interval, count = PLANS[plan]
            months = count * (12 if interval == "year" else 1)
            segments[name].append([day, None, amount * quantity // months])
    return {name: [tuple(s) for s in spans] for name, spans in segments.items()}  # type: ignore[misc]


def _month_ends(first: date, last: date) -> list[date]:
    ends = []
    month = first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        ends.append(following - timedelta(days=1))
        month = following
    return ends


def _expected_months(steps: list[tuple], today: date) -> dict[str, dict[str, int]]:
    """MRR, customers and movements per month, by METRICS.md's definitions."""
    segments = _segments(steps)
    first = min(s[0] for spans in segments.values() for s in spans)
    months: dict[str, dict[str, int]] = {}
    previous: dict[str, int] = {}
    ever: set[str] = set()
    for end in _month_ends(first, today):
        current = {
            name: sum(
                m for start, stop, m in spans if start <= end and (stop is None or stop > end)
            )
            for name, spans in segments.items()
        }
        row = dict.fromkeys(
            [
                "new",
                "expansion",
                "contraction",
                "churn",
                "reactivation",
                "new_customers",
                "churned_customers",
                "reactivated_customers",
            ],
            0,
        )
        for name, c in current.items():
            p = previous.get(name, 0)
            if p == 0 and c > 0:
                kind = "reactivation" if name in ever else "new"
                row[kind] += c
                row["reactivated_customers" if kind == "reactivation" else "new_customers"] += 1
            elif p > 0 and c == 0:
                row["churn"] += p
                row["churned_customers"] += 1
            elif p > 0 and c > p:
                row["expansion"] += c - p
            elif p > 0 and c < p:
                row["contraction"] += p - c
        row["mrr"] = sum(current.values())
        row["customers"] = sum(1 for c in current.values() if c > 0)
        ever |= {name for name, c in current.items() if c > 0}
        previous = current
        months[end.strftime("%Y-%m")] = row
    return months


def _reported_months(organization) -> dict[str, dict[str, int]]:
    with tenant_context(organization):
        metrics_recompute(full=True)
        return {
            month["month"]: {
                key: month[key]
                for key in (
                    "mrr",
                    "customers",
                    "new",
                    "expansion",
                    "contraction",
                    "churn",
                    "reactivation",
                    "new_customers",
                    "churned_customers",
                    "reactivated_customers",
                )
            }
            for month in months_between()
        }


def _rows(organization) -> list[tuple]:
    with tenant_context(organization):
        return list(
            Subscription.objects.order_by("external_id").values_list(
                "id",
                "external_id",
                "account__external_id",
                "plan",
                "amount_cents",
                "currency",
                "billing_interval",
                "started_on",
                "ended_on",
            )
        )


# --- the tests -------------------------------------------------------------------------


def test_it_rebuilds_every_months_mrr_movements_and_customers(stripe_, org):
    _play(stripe_, HISTORY)
    _backfill(stripe_.client, org)
    expected = _expected_months(HISTORY, TODAY.date())
    assert _reported_months(org) == expected
    # The months that matter, as read by a person: upgrade and downgrade in March,
    # two churns in April, nothing from F in May, E back in June.
    assert (expected["2026-03"]["expansion"], expected["2026-03"]["contraction"]) == (7_000, 4_000)
    assert expected["2026-04"]["churned_customers"] == 2
    assert expected["2026-05"] == {**expected["2026-05"], "new": 0, "churn": 0}
    assert expected["2026-06"]["reactivation"] == 12_000


def test_it_writes_accounts_contacts_and_rows_from_stripe(stripe_, org):
    _play(stripe_, HISTORY)
    _backfill(stripe_.client, org)
    a = stripe_.customers["A"]
    with tenant_context(org):
        account = Account.objects.get(external_id=a)
        assert account.name == "Customer A"
        assert list(Contact.objects.filter(account=account).values_list("email", flat=True)) == [
            "a@example.com"
        ]
        assert Account.objects.count() == len(stripe_.customers)
    sub = stripe_.subscriptions["A"]
    assert [r[1:] for r in _rows(org) if r[2] == a] == [
        (
            f"stripe:{sub}:2026-01-10",
            a,
            "Basic",
            5_000,
            "BRL",
            "month",
            date(2026, 1, 10),
            date(2026, 3, 3),
        ),
        (f"stripe:{sub}:2026-03-03", a, "Pro", 12_000, "BRL", "month", date(2026, 3, 3), None),
    ]
    team = [r for r in _rows(org) if r[2] == stripe_.customers["C"]]
    assert [(r[4], r[6], r[8]) for r in team] == [(30_000, "quarter", date(2026, 4, 8))]


def test_it_follows_events_idempotently_and_out_of_order(stripe_, org):
    _play(stripe_, HISTORY)
    _backfill(stripe_.client, org)
    events_before = {e["id"] for e in stripe_.client.v1.events.list({"limit": 100}).data}
    _play(stripe_, LATER)
    events = [
        e.to_dict()
        for e in stripe_.client.v1.events.list({"limit": 100}).data
        if e["id"] not in events_before
    ]
    # localstripe sends no customer.subscription.updated: the one Stripe would send.
    changed = stripe_.client.v1.subscriptions.retrieve(stripe_.subscriptions["D"])
    events.append(
        {
            "id": "evt_subscription_updated",
            "object": "event",
            "type": "customer.subscription.updated",
            "data": {"object": changed.to_dict()},
        }
    )
    customers = [event_customer_id(e) for e in events]
    assert {c for c in customers if c} == {stripe_.customers[n] for n in ("A", "D", "G")}
    # Newest first, each twice: the result is Stripe's current state all the same.
    for event in [*reversed(events), *events]:
        customer_id = event_customer_id(event)
        if customer_id:
            with tenant_context(org), transaction.atomic():
                customer_sync(stripe_.client, customer_id)
    expected = _expected_months(HISTORY + LATER, TODAY.date())
    assert _reported_months(org) == expected
    assert expected["2026-07"]["mrr"] == 50_000 + 20_000 + 5_000 - 12_000


def test_it_gives_the_same_rows_with_the_same_ids_when_synced_again(stripe_, org):
    _play(stripe_, HISTORY)
    _backfill(stripe_.client, org)
    first = _rows(org)
    _backfill(stripe_.client, org)
    assert _rows(org) == first


def test_it_resumes_a_backfill_from_its_cursor_without_duplicates(stripe_, org):
    _play(stripe_, HISTORY)
    ids, cursor = customers_page(stripe_.client, starting_after=None, limit=2)
    assert len(ids) == 2
    assert cursor == ids[-1]
    for customer_id in ids:
        with tenant_context(org), transaction.atomic():
            customer_sync(stripe_.client, customer_id)
    # Stopped here; resumed from the cursor, then (a crash before the cursor was saved)
    # the same page once more.
    rest = []
    while cursor is not None:
        page, following = customers_page(stripe_.client, starting_after=cursor, limit=2)
        for customer_id in page:
            with tenant_context(org), transaction.atomic():
                customer_sync(stripe_.client, customer_id)
        rest += page
        cursor = following
    for customer_id in rest[:2]:
        with tenant_context(org), transaction.atomic():
            customer_sync(stripe_.client, customer_id)
    assert sorted(ids + rest) == sorted(stripe_.customers.values())
    with tenant_context(org):
        assert sorted(Account.objects.values_list("external_id", flat=True)) == sorted(
            stripe_.customers.values()
        )
    assert _reported_months(org) == _expected_months(HISTORY, TODAY.date())


class _DyingHttpClient(stripe.RequestsClient):
    """Real requests to the real server, which the test kills before the `at`-th one."""

    def __init__(self, server: LocalStripe, at: int) -> None:
        super().__init__(timeout=10)
        self.server = server
        self.at = at
        self.count = 0

    def request(self, method, url, headers, post_data=None):
        self.count += 1
        if self.count == self.at:
            self.server.stop()
        return super().request(method, url, headers, post_data)


def test_it_writes_nothing_for_a_customer_when_stripe_goes_away_mid_sync_and_resumes(
    stripe_, org, settings
):
    _play(stripe_, HISTORY)
    a = stripe_.customers["A"]
    dying = stripe.StripeClient(
        API_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=0,
        http_client=_DyingHttpClient(stripe_.server, at=3),  # after the customer, mid-way
    )
    with pytest.raises(stripe.APIConnectionError), tenant_context(org), transaction.atomic():
        customer_sync(dying, a)
    with tenant_context(org):
        assert not Account.objects.filter(external_id=a).exists()
        assert not Subscription.objects.exists()
    stripe_.server.start()  # back, with its data
    _backfill(stripe_.client, org)
    with tenant_context(org):
        assert Account.objects.filter(external_id=a).count() == 1
    assert _reported_months(org) == _expected_months(HISTORY, TODAY.date())


def test_it_rolls_a_customer_back_whole_when_a_row_is_refused(stripe_, org):
    _play(stripe_, [(_at(2, 1), "U", "subscribe", "basic", 1)])
    stripe_.server.move_to(_at(2, 2))
    usd = stripe_.client.v1.subscriptions.create(
        {"customer": stripe_.customers["U"], "items": [{"plan": "pro_usd"}]}
    )
    # The second subscription's row id already names another account's row (loaded by
    # CSV): history is never overwritten, so that row is refused, and with it the rest.
    with tenant_context(org):
        other = Account.objects.create(external_id="csv-1", name="Other")
        Subscription.objects.create(
            account=other,
            external_id=f"stripe:{usd['id']}:2026-02-02",
            plan="Pro",
            amount_cents=9_900,
            currency="BRL",
            billing_interval="month",
            started_on=date(2026, 2, 2),
        )
    with pytest.raises(Exception, match="problem"), tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, stripe_.customers["U"])
    with tenant_context(org):
        assert list(Account.objects.values_list("external_id", flat=True)) == ["csv-1"]
        assert list(Subscription.objects.values_list("account__external_id", flat=True)) == [
            "csv-1"
        ]


def test_it_writes_a_usd_subscription_in_its_own_currency_and_names_it_until_rated(stripe_, org):
    """What Stripe billed is written even before its currency has a rate: left out of the
    figures and named on the missing-rates notice, then reported once a rate arrives."""
    _play(stripe_, [(_at(2, 1), "U", "subscribe", "basic", 1)])
    stripe_.server.move_to(_at(2, 2))
    stripe_.client.v1.subscriptions.create(
        {"customer": stripe_.customers["U"], "items": [{"plan": "pro_usd", "quantity": 2}]}
    )
    with tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, stripe_.customers["U"])
    assert sorted((r[3], r[4], r[5], r[6]) for r in _rows(org)) == [
        ("Basic", 5_000, "BRL", "month"),
        ("Pro (USD) × 2", 19_800, "USD", "month"),
    ]
    with tenant_context(org):
        unrated = fx.unrated_subscription_list()
        assert [(s.currency, s.reported_mrr_cents) for s in unrated] == [("USD", None)]
    assert _reported_months(org)["2026-02"]["mrr"] == 5_000  # the USD row left out
    with tenant_context(org):
        fx.exchange_rates_upsert(
            pd.DataFrame(
                {"day": [date(2026, 1, 30)], "currency": ["USD"], "rate": [Decimal("5.5")]}
            )
        )
        assert not fx.unrated_subscription_list().exists()
    # 19,800 USD cents × 5.5 = 108,900 BRL cents, at the rate of its start day.
    assert _reported_months(org)["2026-02"]["mrr"] == 5_000 + 108_900


def test_it_ends_the_open_rows_of_a_deleted_customer_today(stripe_, org):
    _play(stripe_, HISTORY)
    b = stripe_.customers["B"]
    with tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, b)
    stripe_.client.v1.customers.delete(b)
    with tenant_context(org), transaction.atomic():
        result = customer_sync(stripe_.client, b)
    assert result.deleted
    assert result.rows_ended == 1
    assert [(r[7], r[8]) for r in _rows(org)] == [
        (date(2026, 1, 15), date(2026, 3, 18)),
        (date(2026, 3, 18), TODAY.date()),
    ]
    with tenant_context(org):
        assert Account.objects.filter(external_id=b).exists()


def test_it_keeps_each_organizations_rows_for_the_same_stripe_ids(stripe_, org):
    _play(stripe_, HISTORY)
    other = OrganizationFactory(currency="BRL", time_zone="America/Sao_Paulo")
    _backfill(stripe_.client, org)
    a = stripe_.customers["A"]
    with tenant_context(other), transaction.atomic():
        customer_sync(stripe_.client, a)
    with tenant_context(other):
        assert list(Account.objects.values_list("external_id", flat=True)) == [a]
        assert Subscription.objects.count() == 2
    with tenant_context(org):
        assert Account.objects.count() == len(stripe_.customers)
        assert Subscription.objects.filter(account__external_id=a).count() == 2
    assert {r[0] for r in _rows(org)}.isdisjoint({r[0] for r in _rows(other)})


def test_it_says_which_customer_an_event_concerns():
    def event(kind: str, obj: dict) -> dict:
        return {"id": "evt_1", "type": kind, "data": {"object": obj}}

    assert (
        event_customer_id(event("customer.updated", {"object": "customer", "id": "cus_1"}))
        == "cus_1"
    )
    assert event_customer_id(event("customer.deleted", {"id": "cus_1", "deleted": True})) == "cus_1"
    assert (
        event_customer_id(event("customer.subscription.paused", {"customer": "cus_2"})) == "cus_2"
    )
    assert event_customer_id(event("customer.discount.created", {"customer": "cus_3"})) == "cus_3"
    assert event_customer_id(event("invoice.paid", {"customer": "cus_4"})) == "cus_4"
    assert event_customer_id(event("customer.source.created", {"customer": "cus_5"})) is None
    assert event_customer_id(event("payout.paid", {"id": "po_1"})) is None


def test_it_ends_a_row_at_the_period_end_and_reopens_it_when_the_cancellation_is_undone(
    stripe_, org
):
    _play(stripe_, [(_at(7, 6), "G", "subscribe", "basic", 1)])
    g, sub = stripe_.customers["G"], stripe_.subscriptions["G"]
    for cancel, ended_on in ((True, date(2026, 8, 6)), (False, None)):
        stripe_.client.v1.subscriptions.update(sub, {"cancel_at_period_end": cancel})
        with tenant_context(org), transaction.atomic():
            customer_sync(stripe_.client, g)
        assert [(r[1], r[7], r[8]) for r in _rows(org)] == [
            (f"stripe:{sub}:2026-07-06", date(2026, 7, 6), ended_on)
        ]


@pytest.fixture
def announced():
    """The kinds of import_completed sent (what restarts the health history)."""
    sent: list[str] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs["kind"])

    import_completed.connect(receiver, dispatch_uid="test_stripe_sync")
    yield sent
    import_completed.disconnect(dispatch_uid="test_stripe_sync")


def _announcements_waiting(organization) -> int:
    with tenant_context(organization):
        return OutboxMessage.objects.filter(
            task=stripe_history_announce.name, debounced=True
        ).count()


def test_it_announces_a_changed_past_like_an_import_unless_a_backfill_says_it_will(
    stripe_, org, announced
):
    _play(stripe_, HISTORY[:2])
    with tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, stripe_.customers["A"], announce_history=False)
        assert _announcements_waiting(org) == 0
        customer_sync(stripe_.client, stripe_.customers["B"])
        customer_sync(stripe_.client, stripe_.customers["B"])  # nothing changed
    # Debounced: a run queued a few minutes ahead, none sent meanwhile.
    assert announced == []
    assert _announcements_waiting(org) == 1
    stripe_history_announce(org.pk)
    assert announced == ["stripe"]
    assert _announcements_waiting(org) == 0


def test_it_announces_a_burst_of_syncs_that_changed_the_past_once(stripe_, org, announced):
    _play(stripe_, HISTORY[:3])
    with tenant_context(org), transaction.atomic():
        for name in ("A", "B", "C"):
            customer_sync(stripe_.client, stripe_.customers[name])
    assert announced == []
    stripe_history_announce(org.pk)
    assert announced == ["stripe"]


def test_it_keeps_the_history_when_a_plan_is_renamed_and_renames_it_in_place(
    stripe_, org, announced
):
    _play(stripe_, HISTORY[:1])
    a = stripe_.customers["A"]
    with tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, a, announce_history=False)
    before = _rows(org)
    stripe_.client.v1.plans.update("basic", {"nickname": "Basic (2026)"})
    changed = []

    def receiver(sender, **kwargs):
        changed.append(kwargs["since"])

    revenue_changed.connect(receiver, dispatch_uid="test_stripe_sync_rename")
    try:
        with tenant_context(org), transaction.atomic():
            result = customer_sync(stripe_.client, a)
    finally:
        revenue_changed.disconnect(dispatch_uid="test_stripe_sync_rename")
    assert (result.rows_removed, result.rows_created) == (0, 0)
    assert changed == []
    assert _announcements_waiting(org) == 0
    assert _rows(org) == [(*row[:3], "Basic (2026)", *row[4:]) for row in before]


def test_it_names_an_account_without_a_name_by_its_customer_id_never_its_email(stripe_, org):
    customer = stripe_.client.v1.customers.create({"email": "ana.souza@example.com"})
    with tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, customer["id"])
        assert Account.objects.get(external_id=customer["id"]).name == customer["id"]


def test_it_leaves_an_end_beyond_the_accepted_days_open_until_it_comes_near(stripe_, org):
    _play(stripe_, [(_at(7, 6), "G", "subscribe", "basic", 1)])
    far = int(datetime(2028, 7, 6, 15, tzinfo=UTC).timestamp())
    stripe_.client.v1.subscriptions.update(stripe_.subscriptions["G"], {"cancel_at": far})
    with tenant_context(org), transaction.atomic():
        customer_sync(stripe_.client, stripe_.customers["G"])
    assert [(r[7], r[8]) for r in _rows(org)] == [(date(2026, 7, 6), None)]
    with time_machine.travel(datetime(2027, 12, 1, 15, tzinfo=UTC)):
        with tenant_context(org), transaction.atomic():
            customer_sync(stripe_.client, stripe_.customers["G"])
        assert [(r[7], r[8]) for r in _rows(org)] == [(date(2026, 7, 6), date(2028, 7, 6))]


class FixtureStripe(stripe.HTTPClient):
    """Stripe answering from a JSON fixture (tests/fixtures/stripe/) for a shape
    localstripe cannot serve (a change without prorations: proration_behavior=none):
    the customer, its subscription, the subscription's invoices; nothing pending."""

    name = "fixture"

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self.data = data

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        path = urlsplit(url).path
        subscription = self.data["subscription"]
        customer = subscription["customer"]
        bodies = {
            f"/v1/customers/{customer}": {"id": customer, "object": "customer", "name": "Ana"},
            "/v1/subscriptions": _page([subscription]),
            "/v1/invoices": _page(self.data["invoices"]),
            "/v1/invoiceitems": _page([]),
        }
        return json.dumps(bodies[path]), 200, {}

    def close(self) -> None:
        pass


def _page(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": objects, "has_more": False, "url": "/v1/x"}


def test_it_keeps_a_change_without_evidence_of_its_day_where_it_was_first_recorded(org, announced):
    data = json.loads((FIXTURES / "monthly.json").read_text())
    # From 3 seats to 5 without prorations, the item created with the subscription:
    # nothing in Stripe dates the change; the first sync that sees it does.
    data["subscription"]["items"]["data"][0]["quantity"] = 5
    client = stripe.StripeClient(API_KEY, http_client=FixtureStripe(data), max_network_retries=0)
    with tenant_context(org), transaction.atomic():
        customer_sync(client, "cus_1")
    first = _rows(org)
    waiting = _announcements_waiting(org)  # the first sync's: it wrote the past
    assert [(r[1], r[4], r[7], r[8]) for r in first] == [
        ("stripe:sub_1:2026-01-10", 30_000, date(2026, 1, 10), date(2026, 7, 20)),
        ("stripe:sub_1:2026-07-20", 50_000, date(2026, 7, 20), None),
    ]
    changed = []

    def receiver(sender, **kwargs):
        changed.append(kwargs["since"])

    revenue_changed.connect(receiver, dispatch_uid="test_stripe_sync_drift")
    try:
        with (
            time_machine.travel(datetime(2026, 8, 3, 15, tzinfo=UTC)),
            tenant_context(org),
            transaction.atomic(),
        ):
            result = customer_sync(client, "cus_1")
    finally:
        revenue_changed.disconnect(dispatch_uid="test_stripe_sync_drift")
    assert _rows(org) == first
    assert (result.rows_removed, result.rows_created) == (0, 0)
    assert changed == []
    assert _announcements_waiting(org) == waiting
    assert announced == []
