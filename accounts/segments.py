"""Segments: which accounts a set of filters picks, written once.

A segment's filters are a JSON object of keys and plain values (never translated text),
validated by `filters_clean` and evaluated by `segment_accounts`. The accounts list
(metrics.portfolio_selectors.account_list) and a campaign's audience
(surveys.sending) both call `segment_accounts`, so the list and a campaign can never
disagree about who is in a segment.

The filters on what accounts holds (owner, segment, renewal window, MRR range, customer
status, search) are defined here. The others belong to the apps above, which this app
must not import: they register theirs with `segment_filter_register` in their
AppConfig.ready() (metrics: health band and triad flag; journeys: lifecycle stage).

Filter keys and values:

- `owner`: "me" (the reader of the list; for a campaign, the segment's creator), "none"
  (no owner) or a member's user id as a string;
- `segment`: an account segment, as stored on the accounts;
- `renewal_days`: the next renewal falls within this many days from today (1–366);
- `mrr_min_cents`, `mrr_max_cents`: MRR today, in cents of the organization's currency,
  at least / at most (whole numbers ≥ 0, min ≤ max);
- `customer`: "customer" (MRR today > 0: METRICS.md's customer, the rule of
  metrics.health.inputs.customers_on, on the billed MRR: docs/metrics.md#currencies),
  "former" (not a customer today, but paid before) or "never" (never had a paying
  subscription up to today);
- `q`: text searched in account names and external ids;
- `stage` (journeys), `band` and `flag` (metrics): see their apps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    BigIntegerField,
    DateField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import Account, Subscription
from accounts.search import MIN_QUERY_CHARS, accounts_matching, search_query_clean
from csplatform.clock import organization_today

NO_OWNER = "none"
OWNER_ME = "me"
CUSTOMER = "customer"
FORMER_CUSTOMER = "former"
NEVER_CUSTOMER = "never"
CUSTOMER_STATUSES = (CUSTOMER, FORMER_CUSTOMER, NEVER_CUSTOMER)
MAX_RENEWAL_DAYS = 366
MAX_MRR_CENTS = 10**15  # far above any MRR; keeps a typo from overflowing bigint
MAX_SEARCH_LENGTH = 200


@dataclass(frozen=True)
class SegmentContext:
    """What a filter may need besides its value: the organization's today, and who
    "me" is (None: nobody, "me" then matches no account)."""

    today: date
    user_id: int | None = None


type Clean = Callable[[Any], Any]
type Apply = Callable[[QuerySet[Account], Any, SegmentContext], QuerySet[Account]]


@dataclass(frozen=True)
class SegmentFilter:
    key: str
    clean: Clean  # the value as stored, or ValidationError with a message for people
    apply: Apply  # the accounts narrowed by the (clean) value


_FILTERS: dict[str, SegmentFilter] = {}


def segment_filter_register(key: str, *, clean: Clean, apply: Apply) -> None:
    """Make `key` a segment filter. Called at import here and from the AppConfig.ready()
    of the apps above accounts; registering a key again replaces it (reloads)."""
    _FILTERS[key] = SegmentFilter(key, clean, apply)


def segment_filter_keys() -> list[str]:
    return list(_FILTERS)


def filters_clean(raw: Any) -> dict[str, Any]:
    """The filters as stored: every key known, every value valid, empty ones dropped.
    Raises ValidationError with a message per bad key (the field it names)."""
    if not isinstance(raw, Mapping):
        raise ValidationError(
            {"filters": _("The filters must be a JSON object of filter names and values.")}
        )
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in raw.items():
        known = _FILTERS.get(key)
        if known is None:
            errors[str(key)] = [
                _("“%(key)s” is not a filter; the filters are: %(keys)s.")
                % {"key": key, "keys": ", ".join(sorted(_FILTERS))}
            ]
            continue
        if value is None or value == "":
            continue
        try:
            value = known.clean(value)
        except ValidationError as error:
            errors[key] = error.messages
            continue
        if value != "":
            cleaned[key] = value
    low, high = cleaned.get("mrr_min_cents"), cleaned.get("mrr_max_cents")
    if low is not None and high is not None and low > high:
        errors.setdefault("mrr_max_cents", []).append(
            _("The maximum MRR must not be below the minimum MRR.")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def segment_accounts(
    filters: Mapping[str, Any],
    *,
    today: date | None = None,
    user_id: int | None = None,
    accounts: QuerySet[Account] | None = None,
) -> QuerySet[Account]:
    """The current organization's accounts (or `accounts`, narrowed further) that the
    cleaned `filters` pick on `today` (default: the organization's today), "me" being
    `user_id`. One query when evaluated: every filter is a condition or a semi-join."""
    context = SegmentContext(today=today or organization_today(), user_id=user_id)
    picked = Account.objects.all() if accounts is None else accounts
    for key, value in filters.items():
        known = _FILTERS.get(key)
        if known is None:
            raise ValueError(f"Unknown segment filter {key!r}: clean the filters first.")
        picked = known.apply(picked, value, context)
    return picked


# --- reads the filters share with the accounts list -----------------------------------


def account_mrr_on(today: date) -> Subquery:
    """An account's MRR in cents of the reporting currency on `today`: the sum of its
    subscriptions' stored MRR (Subscription.reported_mrr_cents) over those covering
    that day, leaving out those without an exchange rate; NULL for none."""
    return Subquery(
        Subscription.objects.filter(account=OuterRef("pk"), started_on__lte=today)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today))
        .order_by()
        .values("account")
        .annotate(total=Sum("reported_mrr_cents"))
        .values("total"),
        output_field=BigIntegerField(),
    )


def subscription_next_renewal(today: date) -> Func:
    """SQL: a subscription's next renewal on `today`, NULL for none (csp_next_renewal,
    the one definition: accounts migration 0012, docs/metrics.md)."""
    return Func(
        F("started_on"),
        F("ended_on"),
        F("interval_months"),
        # Billed: a renewal does not depend on an exchange rate (one without a rate
        # renews all the same).
        F("mrr_cents"),
        Value(today, output_field=DateField()),
        function="csp_next_renewal",
        output_field=DateField(),
    )


def _paying(today: date) -> QuerySet[Subscription]:
    """The outer account's paying subscriptions started by `today`: billed MRR > 0, so
    that whether an account pays does not depend on an exchange rate (one without a
    rate is paying all the same; docs/metrics.md#currencies)."""
    return Subscription.objects.filter(
        account=OuterRef("pk"), mrr_cents__gt=0, started_on__lte=today
    )


def customer_now(today: date) -> Exists:
    """The outer account is a customer on `today`: MRR > 0 (a paying subscription
    covers the day), as metrics.health.inputs.customers_on."""
    return Exists(_paying(today).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today)))


def paid_ever(today: date) -> Exists:
    """The outer account had a paying subscription on some day up to `today`."""
    return Exists(_paying(today).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=F("started_on"))))


# --- accounts' own filters -------------------------------------------------------------


def _text(limit: int) -> Clean:
    def clean(value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(_("Expected text, got %(value)s.") % {"value": value})
        value = value.strip()
        if len(value) > limit:
            raise ValidationError(
                _("At most %(limit)s characters, got %(count)s.")
                % {"limit": limit, "count": len(value)}
            )
        return value

    return clean


def choice_clean(*allowed: str) -> Clean:
    """A filter value's cleaner: one of `allowed`, else a ValidationError naming them."""

    def clean(value: Any) -> str:
        if value not in allowed:
            raise ValidationError(
                _("“%(value)s” is not one of: %(allowed)s.")
                % {"value": value, "allowed": ", ".join(allowed)}
            )
        return str(value)

    return clean


def _whole(low: int, high: int) -> Clean:
    def clean(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError(_("“%(value)s” is not a whole number.") % {"value": value})
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a whole number.") % {"value": value}
            ) from None
        if not low <= number <= high:
            raise ValidationError(
                _("%(value)s is not between %(low)s and %(high)s.")
                % {"value": number, "low": low, "high": high}
            )
        return number

    return clean


def _clean_owner(value: Any) -> str:
    if value in (OWNER_ME, NO_OWNER) or (
        isinstance(value, str) and re.fullmatch(r"\d{1,18}", value)
    ):
        return str(value)
    raise ValidationError(
        _("“%(value)s” is not an owner: “me”, “none” or a member's id.") % {"value": value}
    )


def _apply_owner(accounts: QuerySet[Account], value: str, ctx: SegmentContext) -> QuerySet[Account]:
    if value == OWNER_ME:
        return accounts.none() if ctx.user_id is None else accounts.filter(owner_id=ctx.user_id)
    if value == NO_OWNER:
        return accounts.filter(owner__isnull=True)
    return accounts.filter(owner_id=int(value))


def _apply_renewal(
    accounts: QuerySet[Account], days: int, ctx: SegmentContext
) -> QuerySet[Account]:
    # Some subscription renews by then ⇔ the account's next renewal (the earliest) does.
    renewing = (
        Subscription.objects.filter(account=OuterRef("pk"))
        .annotate(renews_on=subscription_next_renewal(ctx.today))
        .filter(renews_on__lte=ctx.today + timedelta(days=days))
    )
    return accounts.filter(Exists(renewing))


def _mrr_today(ctx: SegmentContext) -> Coalesce:
    return Coalesce(account_mrr_on(ctx.today), Value(0), output_field=BigIntegerField())


def _apply_mrr_min(
    accounts: QuerySet[Account], cents: int, ctx: SegmentContext
) -> QuerySet[Account]:
    return accounts.alias(segment_mrr_min=_mrr_today(ctx)).filter(segment_mrr_min__gte=cents)


def _apply_mrr_max(
    accounts: QuerySet[Account], cents: int, ctx: SegmentContext
) -> QuerySet[Account]:
    return accounts.alias(segment_mrr_max=_mrr_today(ctx)).filter(segment_mrr_max__lte=cents)


def _apply_customer(
    accounts: QuerySet[Account], status: str, ctx: SegmentContext
) -> QuerySet[Account]:
    if status == CUSTOMER:
        return accounts.filter(customer_now(ctx.today))
    if status == FORMER_CUSTOMER:
        return accounts.filter(~customer_now(ctx.today), paid_ever(ctx.today))
    return accounts.filter(~paid_ever(ctx.today))


def _clean_search(value: Any) -> str:
    """A search the header's box would run: at most MAX_SEARCH_LENGTH characters, with
    enough letters or digits to search with."""
    text = _text(MAX_SEARCH_LENGTH)(value)
    if text and not search_query_clean(text).is_searchable:
        raise ValidationError(
            _("Type at least %(count)s letters or digits to search.") % {"count": MIN_QUERY_CHARS}
        )
    return text


def _apply_search(
    accounts: QuerySet[Account], query: str, ctx: SegmentContext
) -> QuerySet[Account]:
    return accounts.filter(pk__in=accounts_matching(query).values("pk"))


segment_filter_register("owner", clean=_clean_owner, apply=_apply_owner)
segment_filter_register(
    "segment",
    clean=_text(100),
    apply=lambda accounts, value, ctx: accounts.filter(segment=value),
)
segment_filter_register("renewal_days", clean=_whole(1, MAX_RENEWAL_DAYS), apply=_apply_renewal)
segment_filter_register("mrr_min_cents", clean=_whole(0, MAX_MRR_CENTS), apply=_apply_mrr_min)
segment_filter_register("mrr_max_cents", clean=_whole(0, MAX_MRR_CENTS), apply=_apply_mrr_max)
segment_filter_register("customer", clean=choice_clean(*CUSTOMER_STATUSES), apply=_apply_customer)
segment_filter_register("q", clean=_clean_search, apply=_apply_search)
