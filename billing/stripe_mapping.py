"""Stripe objects → subscription history rows: the pure mapping (docs/integrations.md,
"Mapping"). Plain dicts in (Stripe's JSON, as the API returns it), rows out; no I/O.

Stripe describes a subscription's history through its invoices (one per billing period,
each line with the price, quantity, period and discounts) and its present through the
subscription itself (items, status, trial, cancellation, pause, discounts). Both shapes
of the API are read: the Plans era (a line or item carries `plan`, a line `type` and
`proration`; what localstripe serves) and today's (`price`, a line's `parent` and
`pricing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

Json = Mapping[str, Any]

# Invoices whose subscription lines tell what was billed; draft and void ones do not
# (a draft may still change, a void one was withdrawn).
BILLED_INVOICE_STATUSES = {"paid", "open", "uncollectible"}
# Invoices a paused subscription leaves behind (pause_collection's behaviours).
UNCOLLECTED_INVOICE_STATUSES = {"void", "draft", "uncollectible"}
# Subscriptions that never started: their first payment never succeeded.
NEVER_STARTED_STATUSES = {"incomplete", "incomplete_expired"}
EXTERNAL_ID_PREFIX = "stripe:"
MAX_PLAN_CHARS = 200  # accounts.Subscription.plan

# Months in one `interval`: a day is 12/365 of a month, a week 7 days.
_MONTHS_PER_UNIT = {
    "day": Fraction(12, 365),
    "week": Fraction(7 * 12, 365),
    "month": Fraction(1),
    "year": Fraction(12),
}
# Our billing intervals, by their length in months.
_BILLING_INTERVALS = {1: "month", 3: "quarter", 12: "year"}


class StripeShapeError(ValueError):
    """A Stripe object lacks what the mapping needs (a price without an interval…)."""


@dataclass(frozen=True)
class Price:
    """A recurring price (or Plans-era plan), as far as MRR goes."""

    id: str
    name: str
    unit_amount: int | None  # cents per unit per interval; None for tiered prices
    currency: str  # upper case, ISO 4217
    interval: str  # day, week, month, year
    interval_count: int

    @property
    def months(self) -> Fraction:
        try:
            return _MONTHS_PER_UNIT[self.interval] * self.interval_count
        except KeyError:
            raise StripeShapeError(f"price {self.id}: unknown interval {self.interval!r}") from None


@dataclass(frozen=True)
class _Item:
    price: Price
    quantity: int
    amount: int  # cents per interval before discounts


@dataclass(frozen=True)
class _State:
    """What a subscription bills per interval from some instant on."""

    items: tuple[_Item, ...]
    discount: int  # cents per interval taken off by discounts

    def key(self) -> tuple[Any, ...]:
        return (
            tuple(sorted((i.price.id, i.quantity, i.amount) for i in self.items)),
            self.discount,
        )


@dataclass(frozen=True)
class HistoryRow:
    """One row of accounts.Subscription, derived from a Stripe subscription."""

    subscription_id: str
    started_on: date
    ended_on: date | None  # exclusive: the first day no longer served
    plan: str
    amount_cents: int  # per billing interval, discounts taken off
    currency: str
    billing_interval: str  # month, quarter, year

    @property
    def external_id(self) -> str:
        """Stable for the same subscription and start day: a re-sync finds the same row."""
        return subscription_external_id(self.subscription_id, self.started_on)

    def as_row(self, account_external_id: str) -> dict[str, Any]:
        """The row accounts.customers.subscriptions_upsert takes."""
        return {
            "external_id": self.external_id,
            "account_external_id": account_external_id,
            "plan": self.plan,
            "amount_cents": self.amount_cents,
            "currency": self.currency,
            "billing_interval": self.billing_interval,
            "started_on": self.started_on,
            "ended_on": self.ended_on,
        }


def subscription_external_id(subscription_id: str, started_on: date) -> str:
    return f"{EXTERNAL_ID_PREFIX}{subscription_id}:{started_on.isoformat()}"


# --- reading Stripe's shapes -----------------------------------------------------------


def _id(value: Any) -> str | None:
    """An id, whether the field holds it or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


def price_from(data: Json, names: Mapping[str, str] | None = None) -> Price:
    """A Price from a Stripe Price (`unit_amount`, `recurring`) or Plan (`amount`,
    `interval`); its name: the nickname, else the product's name, else the id."""
    names = names or {}
    recurring = data.get("recurring") or {}
    interval = recurring.get("interval") or data.get("interval")
    if not interval:
        raise StripeShapeError(f"price {data.get('id')} is not recurring")
    count = recurring.get("interval_count") or data.get("interval_count") or 1
    unit_amount = data.get("unit_amount", data.get("amount"))
    if unit_amount is None and data.get("unit_amount_decimal") not in (None, ""):
        unit_amount = _cents(Decimal(str(data["unit_amount_decimal"])))
    if data.get("billing_scheme") == "tiered":
        unit_amount = None
    product = data.get("product")
    product_name = product.get("name") if isinstance(product, Mapping) else None
    name = (
        data.get("nickname")
        or product_name
        or names.get(_id(product) or "")
        or str(data.get("id") or "")
    )
    return Price(
        id=str(data.get("id") or ""),
        name=name,
        unit_amount=None if unit_amount is None else int(unit_amount),
        currency=str(data.get("currency") or "").upper(),
        interval=str(interval),
        interval_count=int(count),
    )


def _item_price(data: Json, prices: Mapping[str, Price], names: Mapping[str, str]) -> Price:
    """The price of a subscription item or an invoice line, in either shape."""
    for key in ("price", "plan"):
        value = data.get(key)
        if isinstance(value, Mapping):
            return price_from(value, names)
        if isinstance(value, str) and value in prices:
            return prices[value]
    details = (data.get("pricing") or {}).get("price_details") or {}
    price_id = _id(details.get("price"))
    if price_id and price_id in prices:
        return prices[price_id]
    raise StripeShapeError(f"no known price on {data.get('object')} {data.get('id')}")


def _line_subscription(line: Json, invoice: Json) -> tuple[str | None, bool, bool]:
    """(subscription id, is a subscription line, is a proration) of an invoice line."""
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details")
    if details:
        return _id(details.get("subscription")), True, bool(details.get("proration"))
    if parent.get("type") == "invoice_item_details":
        item = parent.get("invoice_item_details") or {}
        return _id(item.get("subscription")), False, bool(item.get("proration"))
    subscription = _id(line.get("subscription")) or _id(invoice.get("subscription"))
    return subscription, line.get("type") == "subscription", bool(line.get("proration"))


def _amount(price: Price, quantity: int, line_amount: int | None) -> int:
    if price.unit_amount is not None:
        return price.unit_amount * quantity
    return int(line_amount or 0)


def _discount_cents(line: Json) -> int:
    return sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or [])


def _invoice_state(
    invoice: Json, subscription_id: str, prices: Mapping[str, Price], names: Mapping[str, str]
) -> tuple[int, _State] | None:
    """(start instant, what was billed) from an invoice's subscription lines for
    `subscription_id`, prorations left out; None when it bills none."""
    lines = [
        line
        for line in (invoice.get("lines") or {}).get("data") or []
        if _line_subscription(line, invoice)[:2] == (subscription_id, True)
        and not _line_subscription(line, invoice)[2]
    ]
    if not lines:
        return None
    items = []
    for line in lines:
        price = _item_price(line, prices, names)
        quantity = int(line.get("quantity") or 1)
        items.append(_Item(price, quantity, _amount(price, quantity, line.get("amount"))))
    start = min(int(line["period"]["start"]) for line in lines)
    return start, _State(tuple(items), sum(_discount_cents(line) for line in lines))


def _proration_changes(
    invoice: Json, subscription_id: str, prices: Mapping[str, Price], names: Mapping[str, str]
) -> dict[int, tuple[set[str], list[_Item]]]:
    """A change within a period, from an invoice's proration lines for `subscription_id`,
    by the instant it took effect (the lines' period start): the prices it ended (the
    "unused time" credits, negative) and the items it started ("remaining time",
    positive, with the new quantity)."""
    changes: dict[int, tuple[set[str], list[_Item]]] = {}
    for line in (invoice.get("lines") or {}).get("data") or []:
        subscription, _, proration = _line_subscription(line, invoice)
        if subscription != subscription_id or not proration:
            continue
        try:
            price = _item_price(line, prices, names)
        except StripeShapeError:
            continue
        ended, started = changes.setdefault(int(line["period"]["start"]), (set(), []))
        if int(line.get("amount") or 0) < 0:
            ended.add(price.id)
        else:
            quantity = int(line.get("quantity") or 1)
            started.append(_Item(price, quantity, _amount(price, quantity, None)))
    return changes


def _merge(
    changes: dict[int, tuple[set[str], list[_Item]]],
    more: dict[int, tuple[set[str], list[_Item]]],
) -> None:
    """Add `more` proration changes to `changes`: the same instant's lines are one change,
    whichever invoice (or pending item) they came on."""
    for instant, (ended, started) in more.items():
        known_ended, known_started = changes.setdefault(instant, (set(), []))
        known_ended |= ended
        known_started += [i for i in started if i not in known_started]


def _as_invoice(item: Json) -> Json:
    """A pending invoice item as the one line of an invoice of its subscription."""
    details = (item.get("parent") or {}).get("subscription_details") or {}
    subscription = _id(details.get("subscription")) or _id(item.get("subscription"))
    return {"status": "open", "subscription": subscription, "lines": {"data": [item]}}


def _coupon(discount: Json) -> Json | None:
    coupon = discount.get("coupon") or (discount.get("source") or {}).get("coupon")
    return coupon if isinstance(coupon, Mapping) else None


def _subscription_discounts(subscription: Json) -> list[Json]:
    """The subscription's discounts as objects: `discounts` (expanded) or the Plans
    era's single `discount`."""
    found = [d for d in subscription.get("discounts") or [] if isinstance(d, Mapping)]
    legacy = subscription.get("discount")
    if isinstance(legacy, Mapping) and not found:
        found.append(legacy)
    return found


def _discount_off(discounts: Sequence[Json], gross: int, at: int) -> int:
    """Cents per interval that the subscription's discounts take off `gross` at the
    instant `at`. Percentages first, then fixed amounts (Stripe's order), never below 0.
    A `once` coupon is left to the invoice it reduces (its lines' discount_amounts)."""
    percent = Fraction(0)
    fixed = 0
    for discount in discounts:
        coupon = _coupon(discount)
        if coupon is None or coupon.get("duration") == "once":
            continue
        start, end = discount.get("start"), discount.get("end")
        if start is not None and at < int(start):
            continue
        if end is not None and at >= int(end):
            continue
        if coupon.get("percent_off") is not None:
            percent += Fraction(Decimal(str(coupon["percent_off"]))) / 100
        elif coupon.get("amount_off") is not None:
            fixed += int(coupon["amount_off"])
    off = _cents(Decimal(gross) * Decimal(percent.numerator) / percent.denominator) + fixed
    return min(gross, off)


def _items_state(
    subscription: Json,
    prices: Mapping[str, Price],
    names: Mapping[str, str],
    at: int,
) -> _State:
    items = []
    for item in (subscription.get("items") or {}).get("data") or []:
        price = _item_price(item, prices, names)
        quantity = int(item.get("quantity") or 1)
        items.append(_Item(price, quantity, _amount(price, quantity, None)))
    state = _State(tuple(items), 0)
    gross = sum(i.amount for i in items)
    return _State(state.items, _discount_off(_subscription_discounts(subscription), gross, at))


def _period(subscription: Json, key: str) -> int | None:
    """current_period_start/end: on the subscription (Plans era) or on its items."""
    if subscription.get(key) is not None:
        return int(subscription[key])
    values = [
        int(item[key])
        for item in (subscription.get("items") or {}).get("data") or []
        if item.get(key) is not None
    ]
    return max(values) if values else None


# --- the history -----------------------------------------------------------------------


def _day(instant: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(instant, zone).date()


def _last_day_of_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def billed_amount(amount: int, months: Fraction) -> tuple[int, str]:
    """(amount per billing interval, our billing interval) for `amount` cents per Stripe
    interval of `months` months: 1, 3 and 12 months keep the amount and become month,
    quarter and year; any other length becomes its month equivalent (amount ÷ months,
    rounded to the cent half to even), billed monthly."""
    if months.denominator == 1 and int(months) in _BILLING_INTERVALS:
        return amount, _BILLING_INTERVALS[int(months)]
    exact = Fraction(amount) / months
    return _cents(Decimal(exact.numerator) / Decimal(exact.denominator)), "month"


def _plan_name(items: Iterable[_Item]) -> str:
    parts = [
        item.price.name if item.quantity == 1 else f"{item.price.name} × {item.quantity}"
        for item in items
    ]
    return " + ".join(parts)[:MAX_PLAN_CHARS] or "Stripe"


def _end_instant(subscription: Json) -> int | None:
    """When service ends: a canceled subscription's ended_at (else canceled_at); a
    subscription in status `paused` (its trial ended without a payment method) at its
    trial's end (else its current period's start); a scheduled cancel_at;
    cancel_at_period_end: the current period's end."""
    if subscription.get("status") == "canceled":
        for key in ("ended_at", "canceled_at", "cancel_at"):
            if subscription.get(key) is not None:
                return int(subscription[key])
    if subscription.get("status") == "paused":
        paused = subscription.get("trial_end") or _period(subscription, "current_period_start")
        if paused is not None:
            return int(paused)
    if subscription.get("cancel_at") is not None:
        return int(subscription["cancel_at"])
    if subscription.get("cancel_at_period_end"):
        return _period(subscription, "current_period_end")
    return None


def _service_start(invoice: Json, subscription_id: str) -> int:
    """The first instant an invoice bills for the subscription: its subscription lines'
    period start (an invoice's own period_start is the period before, for a renewal)."""
    starts = [
        int(line["period"]["start"])
        for line in (invoice.get("lines") or {}).get("data") or []
        if _line_subscription(line, invoice)[:2] == (subscription_id, True)
    ]
    return (
        min(starts) if starts else int(invoice.get("period_start") or invoice.get("created") or 0)
    )


def _pause_start(subscription: Json, invoices: Sequence[Json]) -> int | None:
    """When a paused subscription (pause_collection set) stopped being collected: the
    service start of the latest run of uncollected invoices (void, draft, uncollectible)
    at the end of its invoices; with none yet, the current period's end (the next
    invoice is the first one paused)."""
    sub_id = str(subscription["id"])
    own = sorted(
        ((_service_start(inv, sub_id), inv) for inv in invoices),
        key=lambda pair: (pair[0], int(pair[1].get("created") or 0)),
    )
    start = None
    for service_start, invoice in reversed(own):
        if invoice.get("status") not in UNCOLLECTED_INVOICE_STATUSES:
            break
        start = service_start
    return start if start is not None else _period(subscription, "current_period_end")


def subscription_history(
    subscription: Json,
    invoices: Sequence[Json],
    *,
    time_zone: str,
    now: datetime,
    prices: Mapping[str, Price] | None = None,
    names: Mapping[str, str] | None = None,
    pending_items: Sequence[Json] = (),
    recorded: Sequence[HistoryRow] = (),
) -> list[HistoryRow]:
    """The history rows of one Stripe subscription, oldest first (docs/integrations.md,
    "Mapping").

    `invoices` are the subscription's invoices (any status); `pending_items` the
    customer's invoice items not yet invoiced (a change's prorations wait there for the
    next invoice); `prices` the prices that
    invoice lines name by id only (today's API shape), `names` product names by id;
    `time_zone` the organization's, whose day of each Stripe instant (UTC) is the row's
    day; `now` the business clock (an open-ended pause counts from the first month end
    it has lasted past); `recorded` the rows an earlier sync derived (a change with no
    other evidence of its date keeps the start it was first given).
    """
    if subscription.get("status") in NEVER_STARTED_STATUSES:
        return []
    names = names or {}
    # The current items' prices are known from the subscription itself.
    prices = {
        **{
            price.id: price
            for item in (subscription.get("items") or {}).get("data") or []
            if isinstance(item.get("price") or item.get("plan"), Mapping)
            for price in [price_from(item.get("price") or item.get("plan"), names)]
        },
        **(prices or {}),
    }
    zone = ZoneInfo(time_zone)
    sub_id = str(subscription["id"])
    start = int(subscription.get("start_date") or subscription.get("created") or 0)

    # What was billed, from each invoice's subscription lines (the newest invoice wins
    # for a period start billed twice).
    points: dict[int, _State] = {}
    prorations: dict[int, tuple[set[str], list[_Item]]] = {}
    for invoice in sorted(invoices, key=lambda inv: int(inv.get("created") or 0)):
        if invoice.get("status") not in BILLED_INVOICE_STATUSES:
            continue
        found = _invoice_state(invoice, sub_id, prices, names)
        if found is not None:
            points[max(found[0], start)] = found[1]
        _merge(prorations, _proration_changes(invoice, sub_id, prices, names))
    for item in pending_items:
        if item.get("invoice") is None:
            _merge(prorations, _proration_changes(_as_invoice(item), sub_id, prices, names))
    # A change within a period (prorated) dates from its instant, on top of what was
    # billed before it.
    for instant in sorted(prorations):
        earlier = [t for t in points if t < instant]
        if not earlier or instant in points:
            continue
        ended, started = prorations[instant]
        previous = points[max(earlier)]
        kept = tuple(i for i in previous.items if i.price.id not in ended)
        items = kept + tuple(i for i in started if i.price.id not in {k.price.id for k in kept})
        if not items or not started:
            continue
        gross = sum(i.amount for i in items)
        discounts = _subscription_discounts(subscription)
        points[instant] = _State(items, _discount_off(discounts, gross, instant))

    # What the subscription bills now: from when it changed, if it differs from the
    # latest invoice. The change's instant is the latest evidence after that invoice
    # (an item created, a discount applied), else the current period's start, else now.
    last = max(points) if points else None
    current = _items_state(subscription, prices, names, at=int(now.timestamp()))
    if last is None:
        points[start] = _items_state(subscription, prices, names, at=start)
    elif current.key() != points[last].key():
        evidence = [
            int(item["created"])
            for item in (subscription.get("items") or {}).get("data") or []
            if item.get("created") is not None
        ] + [int(d["start"]) for d in _subscription_discounts(subscription) if d.get("start")]
        after = [t for t in evidence if t > last]
        period_start = _period(subscription, "current_period_start")
        period_end = _period(subscription, "current_period_end")
        same_items = current.key()[0] == points[last].key()[0]
        if after:
            changed = max(after)
        elif same_items and period_end is not None and period_end > last:
            # Only the discount differs: a `once` coupon used up by the latest invoice
            # (it reduced that period): full price again from the next one.
            changed = period_end
        elif period_start is not None and period_start > last:
            changed = period_start
        else:
            # No evidence: the day an earlier sync first saw it billed like this (a
            # recorded row), else now. Each sync would otherwise move it to its own day.
            changed = _recorded_start(recorded, sub_id, current, last, zone) or max(
                int(now.timestamp()), last + 1
            )
        points[changed] = _items_state(subscription, prices, names, at=changed)
    # A repeating discount running out raises the amount again from its end.
    for discount in _subscription_discounts(subscription):
        end = discount.get("end")
        if end is not None and int(end) > max(points):
            points[int(end)] = _items_state(subscription, prices, names, at=int(end))

    first = min(points)
    if first > start:
        points[start] = points.pop(first)

    end = _end_instant(subscription)
    trial_end = subscription.get("trial_end")
    trial_end = int(trial_end) if trial_end is not None else None
    if trial_end is not None and trial_end > start and trial_end not in points:
        # Split the period the trial ends in: billed from trial_end on.
        before = max(t for t in points if t < trial_end)
        points[trial_end] = points[before]

    # Segments by day: [start day, next start day), trial periods at 0.
    instants = sorted(points)
    segments: list[tuple[date, date | None, _State, bool]] = []
    for index, instant in enumerate(instants):
        following = instants[index + 1] if index + 1 < len(instants) else None
        if end is not None and instant >= end:
            break
        stop = following if following is not None and (end is None or following < end) else end
        in_trial = trial_end is not None and instant < trial_end
        segments.append(
            (
                _day(instant, zone),
                None if stop is None else _day(stop, zone),
                points[instant],
                in_trial,
            )
        )

    segments = _pause_cut(segments, subscription, invoices, zone, now)

    rows: list[HistoryRow] = []
    for started_on, ended_on, state, in_trial in segments:
        if ended_on is not None and ended_on <= started_on:
            continue  # within one day: never served on a day of its own
        rows.append(_row(sub_id, started_on, ended_on, state, in_trial))
    return _merged(rows)


def _bills(row: HistoryRow) -> tuple[int, str, str]:
    """What a row bills, its plan's display name left out (a rename changes no history)."""
    return row.amount_cents, row.currency, row.billing_interval


def _recorded_start(
    recorded: Sequence[HistoryRow], subscription_id: str, state: _State, last: int, zone: ZoneInfo
) -> int | None:
    """The start of the latest recorded row of the subscription that bills as `state`
    does and starts no earlier than the day of `last` (the latest invoiced instant), as
    an instant after `last`; None without one."""
    wanted = _bills(_row(subscription_id, date.min, None, state, in_trial=False))
    since = _day(last, zone)
    starts = [
        row.started_on
        for row in recorded
        if row.subscription_id == subscription_id
        and row.started_on >= since
        and _bills(row) == wanted
    ]
    if not starts:
        return None
    midnight = datetime.combine(max(starts), time(), zone)
    return max(int(midnight.timestamp()), last + 1)


def _pause_cut(
    segments: list[tuple[date, date | None, _State, bool]],
    subscription: Json,
    invoices: Sequence[Json],
    zone: ZoneInfo,
    now: datetime,
) -> list[tuple[date, date | None, _State, bool]]:
    """A pause (pause_collection) that lasts past a month end stops the service from
    its start to its `resumes_at` (open-ended: from its start, once a month end has
    passed); one within a month changes nothing (MRR is read at month ends)."""
    pause = subscription.get("pause_collection")
    if not pause or subscription.get("status") == "canceled" or not segments:
        return segments
    paused_from = _pause_start(subscription, invoices)
    if paused_from is None:
        return segments
    first = _day(paused_from, zone)
    resumes = pause.get("resumes_at")
    until = _day(int(resumes), zone) if resumes is not None else None
    month_end = _last_day_of_month(first)
    today = now.astimezone(zone).date()
    lasts = month_end < until if until is not None else month_end < today
    if not lasts:
        return segments
    cut: list[tuple[date, date | None, _State, bool]] = []
    for started_on, ended_on, state, in_trial in segments:
        if (ended_on is not None and ended_on <= first) or (
            until is not None and started_on >= until
        ):
            cut.append((started_on, ended_on, state, in_trial))
            continue
        if started_on < first:
            cut.append((started_on, first, state, in_trial))
        if until is not None and (ended_on is None or ended_on > until):
            cut.append((max(until, started_on), ended_on, state, in_trial))
    return cut


def _row(
    subscription_id: str, started_on: date, ended_on: date | None, state: _State, in_trial: bool
) -> HistoryRow:
    if not state.items:
        raise StripeShapeError(f"subscription {subscription_id} has no items")
    price = state.items[0].price
    for item in state.items[1:]:
        if item.price.months != price.months or item.price.currency != price.currency:
            raise StripeShapeError(
                f"subscription {subscription_id} mixes intervals or currencies across its items"
            )
    net = 0 if in_trial else max(0, sum(i.amount for i in state.items) - state.discount)
    amount, interval = billed_amount(net, price.months)
    return HistoryRow(
        subscription_id=subscription_id,
        started_on=started_on,
        ended_on=ended_on,
        plan=_plan_name(state.items),
        amount_cents=amount,
        currency=price.currency,
        billing_interval=interval,
    )


def _merged(rows: list[HistoryRow]) -> list[HistoryRow]:
    """Neighbours that bill the same (a renewal, an invoice equal to the last) are one row."""
    merged: list[HistoryRow] = []
    for row in rows:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.ended_on == row.started_on
            and (previous.plan, previous.amount_cents, previous.currency, previous.billing_interval)
            == (row.plan, row.amount_cents, row.currency, row.billing_interval)
        ):
            merged[-1] = HistoryRow(
                previous.subscription_id,
                previous.started_on,
                row.ended_on,
                previous.plan,
                previous.amount_cents,
                previous.currency,
                previous.billing_interval,
            )
        else:
            merged.append(row)
    return merged
