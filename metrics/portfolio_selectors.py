"""Reading the portfolio for the CS manager's pages: every account with its MRR today,
its next renewal and its latest health (the accounts list, its CSV export and the
workspace's renewals), and the recent negative survey answers. Each read is one query
whatever the number of accounts: the values are correlated subqueries evaluated by
Postgres, never a query per account."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from typing import TypedDict

from django.contrib.postgres.fields import ArrayField
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    DateField,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django_stubs_ext import WithAnnotations

from accounts.models import Account, BillingInterval, Subscription, User
from metrics.models import AccountHealth
from surveys.models import SCALES, Response, is_negative

NO_SCORE = "none"  # the band filter's value for accounts without a snapshot that day
NO_STAGE = "none"
NO_OWNER = "none"

# The next renewal of each account: over its paying quarterly or yearly subscriptions
# active on the day (%s, four times), the earliest next anniversary after the day
# (k whole periods after the start, where k is the number of periods begun by the
# day's month, or one more if that one is not after the day), or the subscription's
# end when it is to end sooner (a cancellation on file is as urgent as a renewal).
# The same dates as metrics.health.customers_on (the renewal proximity component) and
# metrics.playbooks' renewal rule; `date + interval 'n months'` keeps the day, or the
# month's last day when it has fewer, as metrics.revenue does. Correlated on the
# account: it is an annotation of an Account queryset (`accounts_account`), and
# row-level security keeps it inside the current organization.
_NEXT_RENEWAL_SQL = """
SELECT min(LEAST(
    CASE WHEN (s.started_on + make_interval(months => k.n * p.step))::date > %s::date
         THEN (s.started_on + make_interval(months => k.n * p.step))::date
         ELSE (s.started_on + make_interval(months => (k.n + 1) * p.step))::date
    END,
    s.ended_on))
FROM accounts_subscription s
CROSS JOIN LATERAL (
    SELECT CASE s.billing_interval WHEN 'quarter' THEN 3 ELSE 12 END AS step
) p
CROSS JOIN LATERAL (
    SELECT ((extract(year FROM %s::date) - extract(year FROM s.started_on)) * 12
            + extract(month FROM %s::date) - extract(month FROM s.started_on))::int / p.step
           AS n
) k
WHERE s.account_id = accounts_account.id
  AND s.billing_interval IN ('quarter', 'year') AND s.amount_cents > 0
  AND s.started_on <= %s::date AND (s.ended_on IS NULL OR s.ended_on > %s::date)
"""


def _months_per_interval() -> Case:
    return Case(
        When(billing_interval=BillingInterval.QUARTER, then=Value(3.0)),
        When(billing_interval=BillingInterval.YEAR, then=Value(12.0)),
        default=Value(1.0),
        output_field=FloatField(),
    )


def _mrr_today(today: date) -> Subquery:
    """An account's MRR in cents on `today`: its subscriptions covering that day, each
    normalized to a month and rounded to the cent (half to even, as metrics.revenue)."""
    return Subquery(
        Subscription.objects.filter(account=OuterRef("pk"), started_on__lte=today)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today))
        .order_by()
        .values("account")
        .annotate(
            total=Sum(
                # round(double precision): half to even (Django's Round goes through
                # numeric, which rounds half away from zero).
                Func(
                    Cast("amount_cents", FloatField()) / _months_per_interval(),
                    function="round",
                    output_field=FloatField(),
                ),
                output_field=FloatField(),
            )
        )
        .values("total"),
        output_field=FloatField(),
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
        mrr_cents=Cast(Coalesce(_mrr_today(today), Value(0.0)), BigIntegerField()),
        next_renewal_on=RawSQL(  # noqa: S611 (constant SQL, every value a parameter) # nosec B611
            _NEXT_RENEWAL_SQL, [today] * 5, output_field=DateField()
        ),
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
    flag: str = ""  # a triad flag (metrics.health.FLAG_*)
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


def _negative_answers() -> Q:
    # The worst score of each scale that is_negative counts (NPS 0–6, CSAT ≤ 2, CES ≤ 3),
    # read from it so the two never disagree.
    return reduce(
        operator.or_,
        (
            Q(kind=kind, score__lte=max(s for s in scale if is_negative(kind, s)))
            for kind, scale in SCALES.items()
        ),
    )


def negative_response_list(*, since: datetime, owner: User | None = None) -> QuerySet[Response]:
    """Negative survey answers (surveys.models.is_negative) given since `since` (only
    on `owner`'s accounts when given), with their accounts and contacts, latest first."""
    responses = Response.objects.filter(_negative_answers(), responded_at__gte=since)
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
