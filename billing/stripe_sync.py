"""Stripe → accounts and subscription history: reading Stripe, writing through accounts'
services (docs/integrations.md, "Mapping").

Each function runs inside `csplatform.tenancy.tenant_context(organization)`. Reads come
first, over the network, outside any transaction; then one transaction writes a
customer's account, contact and history, or nothing (a Stripe error propagates before
anything is written). Every sync reads Stripe's current state, so it is idempotent and
order-free: syncing twice, or for an old event after a newer one, gives the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.customers import accounts_upsert, contacts_upsert, subscriptions_upsert
from accounts.models import Account, Subscription
from accounts.signals import import_completed, revenue_changed
from accounts.tenancy import current_organization
from billing.stripe_mapping import (
    EXTERNAL_ID_PREFIX,
    HistoryRow,
    Price,
    StripeShapeError,
    price_from,
    subscription_history,
)
from csplatform import bounds
from csplatform.clock import now, organization_today
from csplatform.tasks import enqueue_debounced, tenant_task

DEFAULT_API_BASE = "https://api.stripe.com"
STRIPE_TIMEOUT_SECONDS = 20  # a call to Stripe waits no longer (the outbox retries)
PAGE_LIMIT = 100  # Stripe's largest page
# How long a sync's announcement of a changed past waits for more (debounced): a burst
# of webhooks, or a reconciliation's customers, restart the health history once.
HISTORY_ANNOUNCE_DELAY_SECONDS = 300

# Event types the connector reads, by prefix: what they concern is a customer's
# accounts row, contact or subscription history.
_CUSTOMER_EVENTS = ("customer.created", "customer.updated", "customer.deleted")
_CUSTOMER_CHILD_EVENTS = ("customer.subscription.", "customer.discount.", "invoice.")


def stripe_client(api_key: str) -> stripe.StripeClient:
    """A client for the organization's key, at settings.STRIPE_API_BASE (default Stripe's
    own; the tests point it at localstripe on loopback). No retries of its own: the
    outbox retries the whole step, and errors propagate as stripe exceptions. A call
    waits at most STRIPE_TIMEOUT_SECONDS: a task waits on Stripe holding the
    organization's lock."""
    base = getattr(settings, "STRIPE_API_BASE", "") or DEFAULT_API_BASE
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS),
    )


def customers_page(
    client: stripe.StripeClient, *, starting_after: str | None, limit: int = PAGE_LIMIT
) -> tuple[list[str], str | None]:
    """The ids of one page of customers after `starting_after` (None: the first page),
    and the cursor of the next page (None at the end)."""
    params: dict[str, Any] = {"limit": limit}
    if starting_after:
        params["starting_after"] = starting_after
    page = client.v1.customers.list(params)  # type: ignore[arg-type]
    ids = [str(customer["id"]) for customer in page.data]
    return ids, (ids[-1] if page.has_more and ids else None)


def event_customer_id(event: Mapping[str, Any]) -> str | None:
    """The id of the customer an event concerns: customer.* (created, updated, deleted,
    discount.*, subscription.*) and invoice.*; None for the types the connector ignores
    (a card, a product, a payout…)."""
    kind = str(event.get("type") or "")
    data = (event.get("data") or {}).get("object") or {}
    if kind in _CUSTOMER_EVENTS:
        return str(data["id"]) if data.get("id") else None
    if kind.startswith(_CUSTOMER_CHILD_EVENTS):
        customer = data.get("customer")
        if isinstance(customer, Mapping):
            customer = customer.get("id")
        return str(customer) if customer else None
    return None


@dataclass(frozen=True)
class CustomerSyncResult:
    """What a customer_sync did, in subscription rows (for progress and logs)."""

    customer_id: str
    account_id: int | None  # None: a deleted customer never recorded here
    deleted: bool
    subscriptions: int  # Stripe subscriptions read
    rows_created: int
    rows_removed: int
    rows_ended: int
    rows_unchanged: int


def customer_sync(
    client: stripe.StripeClient, customer_id: str, *, announce_history: bool = True
) -> CustomerSyncResult:
    """Bring one Stripe customer's account (external id = customer id; name, else the
    id), contact (its email) and Stripe-derived subscription history up to Stripe's
    current state, in one transaction: rows no longer derived are removed, new ones
    created, the rest left as they are (same ids). A deleted customer keeps its account
    and history; its open rows end today (the organization's day).

    Like a subscriptions import, a change that reaches back before today announces
    `import_completed` (the health history is computed again), debounced
    (`stripe_history_changed`); a backfill syncing many customers passes
    `announce_history=False` and sends it once at its end (`stripe_history_loaded`)."""
    customer = _customer(client, customer_id)
    if customer is None or customer.get("deleted"):
        return _customer_deleted(customer_id)
    subscriptions = _subscriptions(client, customer_id)
    invoices = {sub["id"]: _invoices(client, sub["id"]) for sub in subscriptions}
    pending = _pending_items(client, customer_id) if subscriptions else []
    names, prices = _catalogue(client, subscriptions, [*invoices.values(), [_lines(pending)]])
    organization = current_organization()
    clock = now()
    recorded = [_history_row(row) for row in _stripe_rows(customer_id)]
    rows: list[HistoryRow] = []
    for subscription in subscriptions:
        rows += subscription_history(
            subscription,
            invoices[subscription["id"]],
            time_zone=organization.time_zone,
            now=clock,
            prices=prices,
            names=names,
            pending_items=pending,
            recorded=recorded,
        )
    rows = _within_bounds(rows)
    with transaction.atomic():
        return _customer_write(
            customer, rows, len(subscriptions), announce_history=announce_history
        )


# --- reading Stripe --------------------------------------------------------------------


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _customer(client: stripe.StripeClient, customer_id: str) -> dict[str, Any] | None:
    """The customer; None when Stripe no longer knows it (deleted and purged)."""
    try:
        return _plain(client.v1.customers.retrieve(customer_id))
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise


def _all(page: Any) -> list[dict[str, Any]]:
    return [_plain(obj) for obj in page.auto_paging_iter()]


def _subscriptions(client: stripe.StripeClient, customer_id: str) -> list[dict[str, Any]]:
    """Every subscription of the customer, canceled ones included, with its discounts
    expanded where it has any (a discount's coupon says how much it takes off)."""
    found = _all(
        client.v1.subscriptions.list(
            {"customer": customer_id, "status": "all", "limit": PAGE_LIMIT}
        )
    )
    coupons: dict[str, dict[str, Any]] = {}
    for index, subscription in enumerate(found):
        if any(isinstance(d, str) for d in subscription.get("discounts") or []):
            subscription = _plain(
                client.v1.subscriptions.retrieve(subscription["id"], {"expand": ["discounts"]})
            )
            found[index] = subscription
        for discount in _discount_objects(subscription):
            _coupon_expand(client, discount, coupons)
    return found


def _discount_objects(subscription: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = [d for d in subscription.get("discounts") or [] if isinstance(d, dict)]
    if isinstance(subscription.get("discount"), dict):
        found.append(subscription["discount"])
    return found


def _coupon_expand(
    client: stripe.StripeClient, discount: dict[str, Any], coupons: dict[str, dict[str, Any]]
) -> None:
    """Replace a coupon id by the coupon (today's `source.coupon` or the older `coupon`)."""
    source = discount.get("source")
    holder: dict[str, Any] = source if isinstance(source, dict) else discount
    coupon = holder.get("coupon")
    if isinstance(coupon, str):
        if coupon not in coupons:
            coupons[coupon] = _plain(client.v1.coupons.retrieve(coupon))
        holder["coupon"] = coupons[coupon]


def _invoices(client: stripe.StripeClient, subscription_id: str) -> list[dict[str, Any]]:
    """Every invoice of the subscription, each with all its lines."""
    invoices = _all(client.v1.invoices.list({"subscription": subscription_id, "limit": PAGE_LIMIT}))
    for invoice in invoices:
        lines = invoice.get("lines") or {}
        if lines.get("has_more"):
            invoice["lines"] = {
                "data": _all(
                    client.v1.invoices.line_items.list(invoice["id"], {"limit": PAGE_LIMIT})
                )
            }
    return invoices


def _pending_items(client: stripe.StripeClient, customer_id: str) -> list[dict[str, Any]]:
    """The customer's invoice items not yet on an invoice: a change's prorations wait
    there until the next invoice. (Listed whole and filtered here: localstripe refuses
    Stripe's `pending` filter.)"""
    items = _all(client.v1.invoice_items.list({"customer": customer_id, "limit": PAGE_LIMIT}))
    return [item for item in items if item.get("invoice") is None]


def _lines(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"lines": {"data": items}}


def _catalogue(
    client: stripe.StripeClient,
    subscriptions: Iterable[Mapping[str, Any]],
    invoices: Iterable[Iterable[Mapping[str, Any]]],
) -> tuple[dict[str, str], dict[str, Price]]:
    """Product names by id, and the prices that invoice lines (and pending invoice
    items) name by id only (today's shape) and the subscriptions' items no longer
    carry."""
    carried: dict[str, Mapping[str, Any]] = {}
    named: set[str] = set()
    for subscription in subscriptions:
        for item in (subscription.get("items") or {}).get("data") or []:
            price = item.get("price") or item.get("plan")
            if isinstance(price, Mapping):
                carried[str(price["id"])] = price
    for lines in (
        (invoice.get("lines") or {}).get("data") or [] for found in invoices for invoice in found
    ):
        for line in lines:
            price = line.get("price") or line.get("plan")
            if isinstance(price, Mapping):
                carried.setdefault(str(price["id"]), price)
            details = (line.get("pricing") or {}).get("price_details") or {}
            if isinstance(details.get("price"), str):
                named.add(details["price"])
    for price_id in sorted(named - carried.keys()):
        carried[price_id] = _plain(client.v1.prices.retrieve(price_id))
    products = {
        str(p["product"])
        for p in carried.values()
        if isinstance(p.get("product"), str) and not p.get("nickname")
    }
    names = {
        product_id: str(_plain(client.v1.products.retrieve(product_id)).get("name") or product_id)
        for product_id in sorted(products)
    }
    prices: dict[str, Price] = {}
    for price_id, data in carried.items():
        try:
            prices[price_id] = price_from(data, names)
        except StripeShapeError:
            continue  # a one-off price: never a subscription line's
    return names, prices


# --- writing ---------------------------------------------------------------------------


def _within_bounds(rows: list[HistoryRow]) -> list[HistoryRow]:
    """Rows as accounts accepts them (csplatform.bounds): a scheduled end (or a start,
    after a long trial) further ahead than the last accepted day is not recorded yet
    (the row stays open; the start comes later); a sync once it is near records it. A
    refused row would otherwise refuse the whole customer, every time."""
    latest = bounds.latest_day()
    return [
        replace(row, ended_on=None) if row.ended_on is not None and row.ended_on > latest else row
        for row in rows
        if row.started_on <= latest
    ]


def _stripe_rows(account_external_id: str) -> list[Subscription]:
    return list(
        Subscription.objects.filter(
            account__external_id=account_external_id,
            external_id__startswith=EXTERNAL_ID_PREFIX,
        ).order_by("started_on", "id")
    )


def _history_row(row: Subscription) -> HistoryRow:
    """A recorded Stripe-derived row as the mapping gives it (its subscription id is in
    its external id: stripe:<subscription>:<start day>)."""
    subscription_id = row.external_id.removeprefix(EXTERNAL_ID_PREFIX).rsplit(":", 1)[0]
    return HistoryRow(
        subscription_id=subscription_id,
        started_on=row.started_on,
        ended_on=row.ended_on,
        plan=row.plan,
        amount_cents=row.amount_cents,
        currency=row.currency,
        billing_interval=row.billing_interval,
    )


def _same(row: Subscription, wanted: Mapping[str, Any]) -> bool:
    """The same history: the plan's display name aside (a product or nickname renamed
    in Stripe changes no history; the name is brought up to date in place)."""
    return all(
        getattr(row, field) == wanted[field]
        for field in ("amount_cents", "currency", "billing_interval", "started_on")
    )


def _plans_rename(
    kept: Mapping[str, Subscription], wanted: Mapping[str, Mapping[str, Any]]
) -> None:
    """Give kept rows their plan's current display name: one update per new name, of
    Stripe-derived rows only (accounts' upsert keeps a recorded plan: it is history for
    imported rows, only a label here)."""
    renamed: dict[str, list[int]] = {}
    for external_id, row in kept.items():
        if row.plan != wanted[external_id]["plan"]:
            renamed.setdefault(wanted[external_id]["plan"], []).append(row.pk)
    for plan, pks in renamed.items():
        Subscription.objects.filter(pk__in=pks, external_id__startswith=EXTERNAL_ID_PREFIX).update(
            plan=plan
        )


def _customer_write(
    customer: Mapping[str, Any],
    rows: list[HistoryRow],
    subscriptions: int,
    *,
    announce_history: bool,
) -> CustomerSyncResult:
    customer_id = str(customer["id"])
    email = str(customer.get("email") or "").strip()
    # Never the email: it names a person (who may ask to be erased), an account does not.
    name = str(customer.get("name") or "").strip() or customer_id
    accounts_upsert([{"external_id": customer_id, "name": name[:255]}])
    if email:
        contacts_upsert([{"account_external_id": customer_id, "email": email}])
    account = Account.objects.get(external_id=customer_id)

    wanted = {row.external_id: row.as_row(customer_id) for row in rows}
    existing = _stripe_rows(customer_id)
    # Kept: the same row, or the same row gaining its end (accounts' rule for an end).
    stale = [
        row
        for row in existing
        if row.external_id not in wanted
        or not _same(row, wanted[row.external_id])
        or (row.ended_on is not None and row.ended_on != wanted[row.external_id]["ended_on"])
    ]
    kept = {row.external_id: row for row in existing if row not in stale}
    if stale:
        Subscription.objects.filter(pk__in=[row.pk for row in stale]).delete()
        revenue_changed.send(
            sender=Subscription,
            since=min(row.started_on for row in stale),
            accounts=[account.pk],
        )
    ended = sum(
        1
        for external_id, row in kept.items()
        if row.ended_on is None and wanted[external_id]["ended_on"] is not None
    )
    unchanged = len(kept) - ended
    created = len(wanted) - len(kept)
    _plans_rename(kept, wanted)
    if wanted:
        # A currency without an exchange rate yet is written all the same and named on
        # the missing-rates notice (docs/metrics.md#currencies), never refused: the
        # customer's other rows and the backfill go on.
        subscriptions_upsert(list(wanted.values()), unrated_allowed=True)
    changed_from = [row.started_on for row in stale] + [
        wanted[external_id]["started_on"] for external_id in wanted.keys() - kept.keys()
    ]
    changed_from += [
        wanted[external_id]["ended_on"]
        for external_id, row in kept.items()
        if row.ended_on is None and wanted[external_id]["ended_on"] is not None
    ]
    if announce_history and changed_from and min(changed_from) < organization_today():
        stripe_history_changed()
    return CustomerSyncResult(
        customer_id=customer_id,
        account_id=account.pk,
        deleted=False,
        subscriptions=subscriptions,
        rows_created=created,
        rows_removed=len(stale),
        rows_ended=ended,
        rows_unchanged=unchanged,
    )


def stripe_history_loaded() -> None:
    """Announce what a subscriptions import announces (accounts.signals.import_completed):
    past months' subscriptions changed, so what was computed as of past days is computed
    again (the health history). Sent by a sync that changed the past, or once by a
    backfill at its end."""
    import_completed.send(sender=Subscription, kind="stripe")


@tenant_task(name="billing.stripe_sync.stripe_history_announce", debounced=True)
def stripe_history_announce() -> None:
    """The debounced announcement (stripe_history_changed): one for a burst of syncs."""
    stripe_history_loaded()


def stripe_history_changed() -> None:
    """A sync changed the past: announce it (stripe_history_loaded) once the current
    transaction commits and HISTORY_ANNOUNCE_DELAY_SECONDS have passed, one run for all
    the syncs meanwhile (csplatform.tasks.enqueue_debounced; recorded in the outbox, so
    it is not lost if the broker is down)."""
    enqueue_debounced(
        stripe_history_announce,
        current_organization().pk,
        delay=HISTORY_ANNOUNCE_DELAY_SECONDS,
    )


@transaction.atomic
def _customer_deleted(customer_id: str) -> CustomerSyncResult:
    """A deleted customer: its account, contacts and history stay; the Stripe-derived rows
    still open (or ending later) end today, the organization's day of the sync (the
    deletion's own instant is not in what Stripe returns for it). Nothing before today
    changes: no history to announce. The rows are ended here rather than through
    `subscriptions_upsert`, which refuses to move an end already recorded (a scheduled
    cancellation after today)."""
    account = Account.objects.filter(external_id=customer_id).first()
    if account is None:
        return CustomerSyncResult(customer_id, None, True, 0, 0, 0, 0, 0)
    today: date = organization_today()
    open_rows = [
        row for row in _stripe_rows(customer_id) if row.ended_on is None or row.ended_on > today
    ]
    for row in open_rows:
        row.ended_on = max(today, row.started_on)
    Subscription.objects.bulk_update(open_rows, ["ended_on"])
    if open_rows:
        revenue_changed.send(
            sender=Subscription,
            since=min(row.ended_on for row in open_rows if row.ended_on),
            accounts=[account.pk],
        )
    unchanged = Subscription.objects.filter(
        ~Q(pk__in=[row.pk for row in open_rows]),
        account=account,
        external_id__startswith=EXTERNAL_ID_PREFIX,
    ).count()
    return CustomerSyncResult(customer_id, account.pk, True, 0, 0, 0, len(open_rows), unchanged)
