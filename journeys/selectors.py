"""Reads of the journey shared by views and tasks: stages in order, the journey map, time
spent in each stage, and the stored adoption and time-to-value figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from accounts.models import Account
from accounts.tenancy import current_organization
from journeys.models import (
    DailyFeatureUsage,
    LifecycleStage,
    Touchpoint,
    TouchpointType,
)


def lifecycle_stage_list() -> list[LifecycleStage]:
    """The current organization's lifecycle stages, in journey order."""
    return list(LifecycleStage.objects.order_by("position", "id"))


def account_count_by_stage() -> dict[str, int]:
    """How many of the current organization's accounts are in each stage key now
    (accounts with no stage are left out). One query."""
    return dict(
        Account.objects.exclude(lifecycle_stage="")
        .values("lifecycle_stage")
        .annotate(n=Count("id"))
        .values_list("lifecycle_stage", "n")
        .order_by()
    )


# --- the journey map ----------------------------------------------------------------------


@dataclass(frozen=True)
class TouchpointTypeCount:
    touchpoint_type: TouchpointType
    touchpoints: int  # of this type in the period


@dataclass(frozen=True)
class MapStage:
    stage: LifecycleStage
    touchpoint_types: list[TouchpointTypeCount]


@dataclass(frozen=True)
class JourneyMap:
    stages: list[MapStage]
    unplaced: list[TouchpointTypeCount]  # on no stage, or on a key that is not a stage
    days: int

    @property
    def has_touchpoint_types(self) -> bool:
        return bool(self.unplaced) or any(s.touchpoint_types for s in self.stages)


def journey_map_get(*, days: int = 90, now: datetime | None = None) -> JourneyMap:
    """The stages in order, each with the touchpoint types placed on it and how many
    touchpoints of each type occurred in the last `days` days up to `now`; types on no
    stage (or on a deleted one) are listed apart. Three queries."""
    since = (now or timezone.now()) - timedelta(days=days)
    counts = dict(
        Touchpoint.objects.filter(occurred_at__gte=since)
        .values("type")
        .annotate(n=Count("id"))
        .values_list("type", "n")
        .order_by()
    )
    by_stage: dict[str, list[TouchpointTypeCount]] = {}
    for touchpoint_type in TouchpointType.objects.order_by("name"):
        by_stage.setdefault(touchpoint_type.lifecycle_stage, []).append(
            TouchpointTypeCount(touchpoint_type, counts.get(touchpoint_type.pk, 0))
        )
    stages = lifecycle_stage_list()
    placed = [MapStage(stage, by_stage.pop(stage.key, [])) for stage in stages]
    unplaced = sorted(
        (each for types in by_stage.values() for each in types),
        key=lambda each: each.touchpoint_type.name,
    )
    return JourneyMap(stages=placed, unplaced=unplaced, days=days)


# --- time in each stage -------------------------------------------------------------------


@dataclass(frozen=True)
class StageTime:
    key: str
    stage: LifecycleStage | None  # None: a key accounts hold that is not one of the stages
    accounts: int  # accounts in it now
    completed_stays: int
    median_completed_days: float | None  # of stays that ended; None when none did
    current_stays: int
    median_current_days: float | None  # so far, of stays still going on at `now`


# A stay starts at a transition into a stage and ends at the account's next transition.
_STAYS = """
WITH stays AS (
    SELECT t.to_stage AS stage,
           t.changed_at AS entered_at,
           lead(t.changed_at) OVER (
               PARTITION BY t.account_id ORDER BY t.changed_at, t.id
           ) AS left_at
    FROM journeys_stagetransition t
    WHERE t.organization_id = %(organization)s
)
SELECT stage,
       count(*) FILTER (WHERE left_at IS NOT NULL),
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM left_at - entered_at) / 86400
       ) FILTER (WHERE left_at IS NOT NULL),
       count(*) FILTER (WHERE left_at IS NULL),
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM %(now)s - entered_at) / 86400
       ) FILTER (WHERE left_at IS NULL)
FROM stays
WHERE stage <> ''
GROUP BY stage
"""


def stage_time_list(*, now: datetime | None = None) -> list[StageTime]:
    """Per stage, in journey order: the accounts in it now, and the median length in days
    (fractional, 86,400 s each) of the stays that ended and of the stays still going on
    at `now` (default: the present), from the whole stage history.

    A stay runs from a transition into the stage to the account's next transition.
    Keys that accounts or the history hold but that are not stages (an imported
    value, a deleted stage) follow, with `stage` None. Two queries besides the stages.
    """
    organization = current_organization()
    with connection.cursor() as cursor:
        # The organization predicate leads the history's index (row-level security
        # would filter the rows anyway).
        cursor.execute(_STAYS, {"organization": organization.pk, "now": now or timezone.now()})
        stays = {row[0]: row[1:] for row in cursor.fetchall()}
    accounts = account_count_by_stage()
    stages = lifecycle_stage_list()
    keys = [s.key for s in stages]
    others = sorted((set(accounts) | set(stays)) - set(keys))
    by_key = {s.key: s for s in stages}
    rows = []
    for key in [*keys, *others]:
        completed, completed_median, current, current_median = stays.get(key, (0, None, 0, None))
        rows.append(
            StageTime(
                key=key,
                stage=by_key.get(key),
                accounts=accounts.get(key, 0),
                completed_stays=completed,
                median_completed_days=completed_median,
                current_stays=current,
                median_current_days=current_median,
            )
        )
    return rows


# --- adoption and time to value (computed by metrics; read here) ----------------------------


def usage_feature_name_list(*, limit: int = 500) -> list[str]:
    """The event names seen in the daily feature rollups, alphabetically (at most `limit`):
    what can be a value milestone or a core feature."""
    return list(
        DailyFeatureUsage.objects.order_by("feature")
        .values_list("feature", flat=True)
        .distinct()[:limit]
    )
