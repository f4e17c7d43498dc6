"""The segment filters metrics contributes (registered in MetricsConfig.ready): an
account's health band and triad flag in the latest health snapshot. See
accounts.segments."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Account
from accounts.segments import SegmentContext, choice_clean, segment_filter_register
from metrics.health.scoring import FLAG_ENGAGED_NO_RESULTS, FLAG_HAPPY_UNENGAGED
from metrics.health_selectors import health_latest_day
from metrics.models import AccountHealth, HealthBand

NO_SCORE = "none"  # the band filter's value for accounts without a snapshot that day
FLAGS = (FLAG_HAPPY_UNENGAGED, FLAG_ENGAGED_NO_RESULTS)


def _apply_band(accounts: QuerySet[Account], band: str, ctx: SegmentContext) -> QuerySet[Account]:
    # A semi-join on the latest day's snapshots: one index scan, not a subquery per account.
    day = health_latest_day()
    scored = AccountHealth.objects.filter(day=day).values("account_id")
    if band == NO_SCORE:
        return accounts if day is None else accounts.exclude(pk__in=scored)
    return accounts.filter(pk__in=scored.filter(band=band))


def _apply_flag(accounts: QuerySet[Account], flag: str, ctx: SegmentContext) -> QuerySet[Account]:
    scored = AccountHealth.objects.filter(day=health_latest_day()).values("account_id")
    return accounts.filter(pk__in=scored.filter(flags__contains=[flag]))


def segment_filters_register() -> None:
    segment_filter_register(
        "band", clean=choice_clean(*HealthBand.values, NO_SCORE), apply=_apply_band
    )
    segment_filter_register("flag", clean=choice_clean(*FLAGS), apply=_apply_flag)
