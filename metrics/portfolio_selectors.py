"""Reading the portfolio for the CS manager's pages: every account with its MRR today,
its next renewal and its latest health (the accounts list, its CSV export and the
workspace's renewals), and the recent negative survey answers. Each read is one query
whatever the number of accounts: the values are correlated subqueries evaluated by
Postgres, never a query per account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypedDict

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    BigIntegerField,
    CharField,
    DateField,
    F,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django_stubs_ext import WithAnnotations

from accounts.models import Account, Subscription, User
from metrics.models import AccountHealth
from surveys.models import Response, negative_answers

NO_SCORE = "none"  # the band filter's value for accounts without a snapshot that day
NO_STAGE = "none"
NO_OWNER = "none"


def _mrr_today(today: date) -> Subquery:
    """An account's MRR in cents on `today`: the sum of its subscriptions' stored MRR
    (Subscription.mrr_cents) over those covering that day; NULL for none."""
    return Subquery(
        Subscription.objects.filter(account=OuterRef("pk"), started_on__lte=today)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today))
        .order_by()
        .values("account")
        .annotate(total=Sum("mrr_cents"))
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
        F("mrr_cents"),
        Value(today, output_field=DateField()),
        function="csp_next_renewal",
        output_field=DateField(),
    )


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


def _health(field: str, day: date | None, output_field: object) -> Subquery | Value:
    if day is None:
        return Value(None, output_field=output_field)  # type: ignore[arg-type]
    return Subquery(
        AccountHealth.objects.filter(account=OuterRef("pk"), day=day).values(field)[:1],
        output_field=output_field,  # type: ignore[arg-type]
    )


class PortfolioValues(TypedDict):
    mrr_cents: int
    next_renewal_on: date | None
    health_score: float | None
    health_band: str | None
    health_flags: list[str] | None


type PortfolioAccount = WithAnnotations[Account, PortfolioValues]


def account_portfolio(*, today: date, health_day: date | None) -> QuerySet[PortfolioAccount]:
    """The current organization's accounts with their owners, each annotated with
    `mrr_cents` (int, 0 for none), `next_renewal_on` (date or None: no quarterly or
    yearly term) on `today`, and `health_score`, `health_band`, `health_flags` of the
    snapshot of `health_day` (None without one: not a customer that day)."""
    return Account.objects.select_related("owner").annotate(
        mrr_cents=Coalesce(_mrr_today(today), Value(0), output_field=BigIntegerField()),
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
    """What the accounts list is narrowed to; empty means any."""

    owner: str = ""  # "me", NO_OWNER or a user id
    segment: str = ""
    stage: str = ""  # a stage key or NO_STAGE
    band: str = ""  # a HealthBand or NO_SCORE
    renewal_days: int | None = None  # renews within this many days after today
    flag: str = ""  # a triad flag (metrics.health.scoring.FLAG_*)
    sort: str = "name"  # a key of SORTS, "-" before it for descending


def account_list(
    *, filters: AccountFilters, user: User, today: date, health_day: date | None
) -> QuerySet[PortfolioAccount]:
    """account_portfolio narrowed by `filters` (owner "me" is `user`) and sorted by
    them; accounts without the sort value (no score, no renewal) come last, then by
    name."""
    accounts = account_portfolio(today=today, health_day=health_day)
    if filters.owner == "me":
        accounts = accounts.filter(owner=user)
    elif filters.owner == NO_OWNER:
        accounts = accounts.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        accounts = accounts.filter(owner_id=int(filters.owner))
    if filters.segment:
        accounts = accounts.filter(segment=filters.segment)
    if filters.stage == NO_STAGE:
        accounts = accounts.filter(lifecycle_stage="")
    elif filters.stage:
        accounts = accounts.filter(lifecycle_stage=filters.stage)
    # Band and flag as semi-joins on the day's snapshots: one index scan, not a
    # subquery per account.
    scored = AccountHealth.objects.filter(day=health_day).values("account_id")
    if filters.band == NO_SCORE:
        if health_day is not None:
            accounts = accounts.exclude(pk__in=scored)
    elif filters.band:
        accounts = accounts.filter(pk__in=scored.filter(band=filters.band))
    if filters.flag:
        accounts = accounts.filter(pk__in=scored.filter(flags__contains=[filters.flag]))
    if filters.renewal_days is not None:
        accounts = accounts.filter(
            next_renewal_on__lte=today + timedelta(days=filters.renewal_days)
        )
    field = SORTS.get(filters.sort.removeprefix("-"), "name")
    order = (
        F(field).desc(nulls_last=True)
        if filters.sort.startswith("-")
        else F(field).asc(nulls_last=True)
    )
    return accounts.order_by(order, "name", "pk")


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
