"""Reading the portfolio for the CS manager's pages: every account with its MRR today,
its next renewal and its latest health (the accounts list, its CSV export and the
workspace's renewals), and the recent negative survey answers. Each read is one query
whatever the number of accounts: the values are correlated subqueries evaluated by
Postgres, never a query per account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateField,
    Exists,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django_stubs_ext import WithAnnotations

from accounts import segments
from accounts.models import Account, Subscription, User
from accounts.segments import subscription_next_renewal
from journeys import segment_filters as journey_segment_filters
from metrics import segment_filters as metric_segment_filters
from metrics.models import AccountHealth
from surveys.models import Response, negative_answers

# The filters' "nobody"/"none" values, defined with the filters (accounts.segments).
NO_OWNER = segments.NO_OWNER
NO_STAGE = journey_segment_filters.NO_STAGE
NO_SCORE = metric_segment_filters.NO_SCORE


def _next_renewal_on(today: date) -> Subquery:
    """An account's next renewal on `today`: the earliest of its subscriptions'.
    Correlated on the account; row-level security keeps it inside the organization."""
    return Subquery(
        Subscription.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(on=Min(subscription_next_renewal(today)))
        .values("on"),
        output_field=DateField(),
    )


def _unrated_on(today: date) -> Exists:
    """The outer account has a subscription covering `today` without an exchange rate:
    its MRR in the reporting currency is unknown (not 0, not the rest's sum)."""
    return Exists(
        Subscription.objects.filter(
            account=OuterRef("pk"), fx_rate__isnull=True, started_on__lte=today
        ).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today))
    )


def _health(field: str, day: date | None, output_field: object) -> Subquery | Value:
    if day is None:
        return Value(None, output_field=output_field)  # type: ignore[arg-type]
    return Subquery(
        AccountHealth.objects.filter(account=OuterRef("pk"), day=day).values(field)[:1],
        output_field=output_field,  # type: ignore[arg-type]
    )


class PortfolioValues(TypedDict):
    mrr_cents: int | None
    next_renewal_on: date | None
    health_score: float | None
    health_band: str | None
    health_flags: list[str] | None


type PortfolioAccount = WithAnnotations[Account, PortfolioValues]


def account_portfolio(*, today: date, health_day: date | None) -> QuerySet[PortfolioAccount]:
    """The current organization's accounts with their owners, each annotated with
    `mrr_cents` (int in cents of the reporting currency, 0 for none; None when unknown:
    a subscription covering `today` has no exchange rate, docs/metrics.md#currencies),
    `next_renewal_on` (date or None: no quarterly or yearly term) on `today`, and
    `health_score`, `health_band`, `health_flags` of the snapshot of `health_day` (None
    without one: not a customer that day)."""
    return Account.objects.select_related("owner").annotate(
        mrr_cents=Case(
            When(_unrated_on(today), then=Value(None)),
            default=Coalesce(segments.account_mrr_on(today), Value(0)),
            output_field=BigIntegerField(),
        ),
        next_renewal_on=_next_renewal_on(today),
        health_score=_health("score", health_day, FloatField()),
        health_band=_health("band", health_day, CharField()),
        health_flags=_health("flags", health_day, ArrayField(CharField())),
    )


SORTS = {
    "name": "name",
    "mrr": "mrr_cents",
    "score": "health_score",
    "renewal": "next_renewal_on",
}


@dataclass(frozen=True)
class AccountFilters:
    """What the accounts list is narrowed to (`values`: segment filters, cleaned by
    accounts.segments.filters_clean; empty means every account) and its sort."""

    values: Mapping[str, Any] = field(default_factory=dict)
    sort: str = "name"  # a key of SORTS, "-" before it for descending


def account_list(
    *, filters: AccountFilters, user: User, today: date, health_day: date | None
) -> QuerySet[PortfolioAccount]:
    """account_portfolio narrowed by `filters` (the same evaluation as a campaign's
    audience: accounts.segments.segment_accounts, owner "me" being `user`) and sorted
    by them; accounts without the sort value (no score, no renewal) come last, then by
    name."""
    accounts = segments.segment_accounts(
        filters.values,
        today=today,
        user_id=user.pk,
        accounts=account_portfolio(today=today, health_day=health_day),
    )
    field_name = SORTS.get(filters.sort.removeprefix("-"), "name")
    order = (
        F(field_name).desc(nulls_last=True)
        if filters.sort.startswith("-")
        else F(field_name).asc(nulls_last=True)
    )
    return accounts.order_by(order, "name", "pk")  # type: ignore[return-value]


def renewal_list(
    *, today: date, days: int, owner: User | None = None
) -> QuerySet[PortfolioAccount]:
    """The accounts (only `owner`'s when given) whose next renewal falls in the `days`
    days after `today`, soonest first, annotated as account_portfolio (no health)."""
    accounts = account_portfolio(today=today, health_day=None).filter(
        next_renewal_on__lte=today + timedelta(days=days)
    )
    if owner is not None:
        accounts = accounts.filter(owner=owner)
    return accounts.order_by("next_renewal_on", "name", "pk")


def negative_response_list(*, since: datetime, owner: User | None = None) -> QuerySet[Response]:
    """Negative survey answers (surveys.models.is_negative) given since `since` (only
    on `owner`'s accounts when given), with their accounts and contacts, latest first."""
    responses = Response.objects.filter(negative_answers(), responded_at__gte=since)
    if owner is not None:
        responses = responses.filter(account__owner=owner)
    return responses.select_related("account", "contact").order_by("-responded_at", "-pk")


def segment_list() -> list[str]:
    """The segments the current organization's accounts are in, A to Z."""
    return list(
        Account.objects.exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )
