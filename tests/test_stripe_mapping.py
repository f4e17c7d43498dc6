"""The Stripe → history mapping (docs/integrations.md, "Mapping") on Stripe-shaped JSON
(tests/fixtures/stripe/, written from Stripe's API reference in today's shape: prices,
invoice lines with `parent` and `pricing`, discounts with `source.coupon`). These cover
what localstripe cannot serve: prices, applied coupons, prorations, pauses, trials."""

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from billing.stripe_mapping import (
    HistoryRow,
    billed_amount,
    price_from,
    subscription_history,
)

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
ZONE = "America/Sao_Paulo"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def _load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _history(data: dict, *, now: datetime = NOW) -> list[HistoryRow]:
    prices = {p["id"]: price_from(p) for p in data.get("prices", [])}
    return subscription_history(
        data["subscription"],
        data["invoices"],
        time_zone=ZONE,
        now=now,
        prices=prices,
        pending_items=data.get("pending_items", []),
    )


def _rows(data: dict, **kwargs) -> list[tuple]:
    return [
        (r.started_on, r.ended_on, r.plan, r.amount_cents, r.currency, r.billing_interval)
        for r in _history(data, **kwargs)
    ]


def _with_interval(data: dict, interval: str, count: int) -> dict:
    data = copy.deepcopy(data)
    for item in data["subscription"]["items"]["data"]:
        item["price"]["recurring"] = {"interval": interval, "interval_count": count}
    return data


def test_it_reads_quantity_times_unit_amount_as_one_row_while_nothing_changes():
    assert _rows(_load("monthly")) == [(date(2026, 1, 10), None, "Pro × 3", 30_000, "BRL", "month")]


def test_it_keeps_a_stable_external_id_from_the_subscription_and_start_day():
    (row,) = _history(_load("monthly"))
    assert row.external_id == "stripe:sub_1:2026-01-10"


@pytest.mark.parametrize(
    ("interval", "count", "amount", "billing_interval"),
    [
        ("month", 1, 30_000, "month"),
        ("month", 3, 30_000, "quarter"),
        ("year", 1, 30_000, "year"),
        ("month", 12, 30_000, "year"),
        # Other lengths: the month equivalent, billed monthly (amount ÷ months).
        ("month", 6, 5_000, "month"),
        ("week", 2, 65_179, "month"),  # 30 000 × 365 ÷ (14 × 12) = 65 178.57…
        ("day", 30, 30_417, "month"),  # 30 000 × 365 ÷ (30 × 12) = 30 416.67
    ],
)
def test_it_maps_any_interval_and_interval_count(interval, count, amount, billing_interval):
    (row,) = _history(_with_interval(_load("monthly"), interval, count))
    assert (row.amount_cents, row.billing_interval) == (amount, billing_interval)


def test_it_rounds_a_month_equivalent_half_to_even():
    assert billed_amount(5, Fraction(2)) == (2, "month")  # 2.5 → 2
    assert billed_amount(7, Fraction(2)) == (4, "month")  # 3.5 → 4


def test_it_reads_the_plans_era_shape_that_localstripe_serves():
    plan = {
        "id": "plan_x",
        "object": "plan",
        "amount": 9_900,
        "currency": "usd",
        "interval": "month",
        "interval_count": 3,
        "nickname": None,
        "product": "prod_x",
    }
    price = price_from(plan, {"prod_x": "Starter"})
    assert (price.name, price.unit_amount, price.currency, price.months) == (
        "Starter",
        9_900,
        "USD",
        3,
    )


def test_it_counts_no_mrr_until_the_trial_ends():
    assert _rows(_load("trial")) == [
        (date(2026, 1, 1), date(2026, 1, 15), "Pro", 0, "BRL", "month"),
        (date(2026, 1, 15), None, "Pro", 10_000, "BRL", "month"),
    ]


def test_it_counts_a_trial_still_running_as_no_mrr():
    data = _load("trial")
    data["invoices"] = data["invoices"][:1]
    rows = _rows(data, now=datetime(2026, 1, 5, tzinfo=UTC))
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (date(2026, 1, 1), date(2026, 1, 15), 0),
        (date(2026, 1, 15), None, 10_000),
    ]


def test_it_dates_a_prorated_plan_change_from_its_day():
    assert _rows(_load("upgrade_prorated")) == [
        (date(2026, 1, 10), date(2026, 2, 25), "Basic", 5_000, "BRL", "month"),
        (date(2026, 2, 25), None, "Pro", 10_000, "BRL", "month"),
    ]


def test_it_dates_a_change_not_yet_invoiced_from_the_new_item():
    data = _load("upgrade_prorated")
    data["invoices"] = data["invoices"][:2]  # neither the prorations nor March billed yet
    data["subscription"]["items"]["data"][0]["created"] = _ts("2026-02-20T15:00:00")
    assert [(r[0], r[1], r[2]) for r in _rows(data)] == [
        (date(2026, 1, 10), date(2026, 2, 20), "Basic"),
        (date(2026, 2, 20), None, "Pro"),
    ]


def test_it_takes_a_forever_percent_discount_off_the_mrr():
    assert _rows(_load("yearly_discount")) == [
        (date(2026, 1, 10), None, "Team × 2", 192_000, "BRL", "year")  # 240 000 − 20 %
    ]


def test_it_takes_a_forever_amount_discount_off_each_invoice():
    data = _load("yearly_discount")
    coupon = data["subscription"]["discounts"][0]["source"]["coupon"]
    coupon.update(percent_off=None, amount_off=30_000, currency="brl")
    data["invoices"][0]["lines"]["data"][0]["discount_amounts"][0]["amount"] = 30_000
    assert _rows(data)[0][3] == 210_000


def test_it_reads_the_plans_era_single_discount_with_its_coupon():
    data = _load("yearly_discount")
    data["subscription"]["discount"] = data["subscription"].pop("discounts")[0]
    data["subscription"]["discount"]["coupon"] = data["subscription"]["discount"].pop("source")[
        "coupon"
    ]
    assert _rows(data)[0][3] == 192_000


def test_it_raises_the_mrr_again_when_a_repeating_discount_runs_out():
    data = _load("monthly")
    discount = {
        "id": "di_1",
        "object": "discount",
        "start": _ts("2026-01-10T15:00:00"),
        "end": _ts("2026-04-10T15:00:00"),
        "source": {
            "type": "coupon",
            "coupon": {"id": "Q1", "percent_off": 10.0, "duration": "repeating"},
        },
    }
    data["subscription"]["discounts"] = [discount]
    for invoice in data["invoices"]:
        invoice["lines"]["data"][0]["discount_amounts"] = [{"amount": 3_000, "discount": "di_1"}]
    assert [(r[0], r[1], r[3]) for r in _rows(data)] == [
        (date(2026, 1, 10), date(2026, 4, 10), 27_000),
        (date(2026, 4, 10), None, 30_000),
    ]


def test_it_takes_a_once_discount_off_only_the_period_it_was_invoiced_for():
    data = _load("monthly")
    data["invoices"][0]["lines"]["data"][0]["discount_amounts"] = [
        {"amount": 10_000, "discount": "di_1"}
    ]
    assert [(r[0], r[1], r[3]) for r in _rows(data)] == [
        (date(2026, 1, 10), date(2026, 2, 10), 20_000),
        (date(2026, 2, 10), None, 30_000),
    ]


def test_it_churns_a_pause_that_lasts_past_a_month_end_and_resumes_it():
    data = _load("paused")
    data["subscription"]["pause_collection"]["resumes_at"] = _ts("2026-04-20T15:00:00")
    assert [(r[0], r[1]) for r in _rows(data)] == [
        (date(2026, 1, 10), date(2026, 3, 10)),
        (date(2026, 4, 20), None),
    ]


def test_it_ignores_a_pause_within_one_month():
    data = _load("paused")
    data["subscription"]["pause_collection"]["resumes_at"] = _ts("2026-03-25T15:00:00")
    assert [(r[0], r[1]) for r in _rows(data)] == [(date(2026, 1, 10), None)]


def test_it_churns_an_open_pause_only_once_a_month_end_has_passed():
    data = _load("paused")
    within = _rows(data, now=datetime(2026, 3, 20, tzinfo=UTC))
    past = _rows(data, now=datetime(2026, 4, 2, tzinfo=UTC))
    assert [(r[0], r[1]) for r in within] == [(date(2026, 1, 10), None)]
    assert [(r[0], r[1]) for r in past] == [(date(2026, 1, 10), date(2026, 3, 10))]


def test_it_ends_a_cancel_at_period_end_subscription_at_the_period_end():
    data = _load("monthly")
    data["subscription"]["cancel_at_period_end"] = True
    data["subscription"]["canceled_at"] = _ts("2026-03-20T15:00:00")
    assert [(r[0], r[1]) for r in _rows(data)] == [(date(2026, 1, 10), date(2026, 4, 10))]


def test_it_ends_a_canceled_subscription_on_its_day_in_the_organization_time_zone():
    data = _load("monthly")
    # 02:00 UTC on 4 March is 23:00 on 3 March in São Paulo.
    data["subscription"].update(
        status="canceled",
        canceled_at=_ts("2026-03-04T02:00:00"),
        ended_at=_ts("2026-03-04T02:00:00"),
    )
    assert [(r[0], r[1]) for r in _rows(data)] == [(date(2026, 1, 10), date(2026, 3, 3))]


@pytest.mark.parametrize("status", ["incomplete", "incomplete_expired"])
def test_it_never_counts_an_incomplete_subscription(status):
    data = _load("monthly")
    data["subscription"]["status"] = status
    assert _rows(data) == []


def test_it_leaves_void_and_draft_invoices_out_of_the_history():
    data = _load("monthly")
    for invoice in data["invoices"][1:]:
        invoice["status"] = "void"
        invoice["lines"]["data"][0]["quantity"] = 9
    assert _rows(data)[0][2] == "Pro × 3"


def test_it_gives_the_same_rows_whatever_order_the_invoices_come_in():
    data = _load("upgrade_prorated")
    reordered = copy.deepcopy(data)
    reordered["invoices"].reverse()
    assert _rows(reordered) == _rows(data)


def test_it_dates_a_pause_from_the_service_period_not_the_invoices_own_period():
    data = _load("paused")
    data["subscription"]["pause_collection"]["resumes_at"] = _ts("2026-04-20T15:00:00")
    for invoice in data["invoices"]:  # a renewal invoice's period is the one before
        invoice["period_start"] -= 31 * 86_400
        invoice["period_end"] -= 31 * 86_400
    assert [(r[0], r[1]) for r in _rows(data)] == [
        (date(2026, 1, 10), date(2026, 3, 10)),
        (date(2026, 4, 20), None),
    ]


def test_it_dates_a_change_from_its_prorations_still_waiting_for_the_next_invoice():
    data = _load("upgrade_prorated")
    prorations = data["invoices"][2]["lines"]["data"]
    data["invoices"] = data["invoices"][:2]
    # Pending invoice items (today's shape): parent.subscription_details, no invoice yet.
    data["pending_items"] = [
        {
            **line,
            "object": "invoiceitem",
            "invoice": None,
            "proration": True,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": "sub_1", "subscription_item": "si_1"},
            },
        }
        for line in prorations
    ]
    # The item changed in place: its `created` says nothing about when.
    data["subscription"]["items"]["data"][0]["current_period_start"] = _ts("2026-02-10T15:00:00")
    assert [(r[0], r[1], r[2]) for r in _rows(data)] == [
        (date(2026, 1, 10), date(2026, 2, 25), "Basic"),
        (date(2026, 2, 25), None, "Pro"),
    ]


def test_it_ends_a_trial_that_ended_without_a_payment_method_at_the_trials_end():
    data = _load("trial")
    data["invoices"] = data["invoices"][:1]
    data["subscription"]["status"] = "paused"  # Stripe's missing_payment_method: pause
    assert [(r[0], r[1], r[3]) for r in _rows(data)] == [(date(2026, 1, 1), date(2026, 1, 15), 0)]


def test_it_keeps_the_day_a_change_without_evidence_was_first_recorded():
    # A quantity change without prorations (proration_behavior=none), its item older
    # than the last invoice: nothing in Stripe dates it, so the first sync's day does.
    data = _load("monthly")
    data["subscription"]["items"]["data"][0]["quantity"] = 5
    first_seen = datetime(2026, 4, 1, 12, tzinfo=UTC)
    first = _history(data, now=first_seen)
    assert [(r.started_on, r.ended_on, r.amount_cents) for r in first] == [
        (date(2026, 1, 10), date(2026, 4, 1), 30_000),
        (date(2026, 4, 1), None, 50_000),
    ]
    later = datetime(2026, 5, 3, 12, tzinfo=UTC)
    again = subscription_history(
        data["subscription"],
        data["invoices"],
        time_zone=ZONE,
        now=later,
        prices={p["id"]: price_from(p) for p in data.get("prices", [])},
        recorded=first,
    )
    assert again == first
    # A recorded row billing something else is no evidence: the change dates from now.
    other = [replace(first[1], amount_cents=40_000)]
    moved = subscription_history(
        data["subscription"], data["invoices"], time_zone=ZONE, now=later, recorded=other
    )
    assert moved[-1].started_on == date(2026, 5, 3)
