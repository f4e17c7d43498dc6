"""Reading the stored health snapshots: the portfolio by band, one account's score
explained and what moved it, and the band changes a proposed model would cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from metrics.health.model import COMPONENTS, Model
from metrics.health.scoring import MOVED_WEIGHTS, health_scores, score_change
from metrics.models import AccountHealth, HealthBand, HealthComponent, HealthModel

BAND_ORDER = [HealthBand.HEALTHY, HealthBand.NEUTRAL, HealthBand.AT_RISK]
NO_SCORE = "none"
WEIGHTS_LABEL = _("Weights of the health model")


def health_latest_day() -> date | None:
    """The day of the latest snapshot, None before the first recompute."""
    latest = AccountHealth.objects.order_by("-day").values_list("day", flat=True).first()
    return latest


def health_band_counts(day: date) -> dict[str, int]:
    """Customers per band on `day`, every band present (0 when empty)."""
    counts = dict(
        AccountHealth.objects.filter(day=day)
        .values("band")
        .annotate(n=Count("id"))
        .values_list("band", "n")
    )
    return {str(band): counts.get(band, 0) for band in BAND_ORDER}


def health_snapshot_list(*, day: date, band: str | None = None) -> QuerySet[AccountHealth]:
    """The day's snapshots with their accounts and owners, lowest score first."""
    snapshots = AccountHealth.objects.filter(day=day).select_related("account__owner")
    if band:
        snapshots = snapshots.filter(band=band)
    return snapshots.order_by("score", "account__name")


@dataclass(frozen=True)
class ComponentLine:
    component: str
    label: str
    value: float | None  # 0–100, None: no data
    points: float | None  # what it added to the score
    share: float | None  # its weight after renormalization, 0–1
    value_before: float | None = None
    points_before: float | None = None
    moved: float = 0.0  # the points of the score's change due to it (see Mover)


@dataclass(frozen=True)
class Mover:
    """A part of the score's change since the earlier snapshot: a component's value
    changed (`value`), it was measured for the first time (`measured`) or no longer
    (`unmeasured`), or the model's weights changed (`weights`, no component). The
    parts add up to the score's change (metrics.health.scoring.score_change)."""

    kind: str
    component: str | None
    label: Any
    moved: float  # points
    value_before: float | None = None
    value: float | None = None


MOVED_AT_LEAST = 0.05  # points: what shows as 0.1 or more once rounded


@dataclass(frozen=True)
class AccountHealthView:
    now: AccountHealth
    before: AccountHealth | None  # the snapshot a week earlier (or the closest before)
    lines: list[ComponentLine]  # in the model's order
    parts: list[Mover] = field(default_factory=list)  # the change, split (no threshold)

    @property
    def score_moved(self) -> float | None:
        return None if self.before is None else self.now.score - self.before.score

    @property
    def weights_moved(self) -> float:
        """The points of the score's change due to a change of the model's weights."""
        return sum(p.moved for p in self.parts if p.kind == MOVED_WEIGHTS)

    @property
    def movers(self) -> list[Mover]:
        """What moved the score, the largest change first: only components whose value
        changed, appeared or disappeared, and a change of weights on its own."""
        moved = [part for part in self.parts if abs(part.moved) >= MOVED_AT_LEAST]
        return sorted(moved, key=lambda part: -abs(part.moved))

    @property
    def biggest_loss(self) -> Mover | None:
        """The part that lost the most points since `before` (None without an earlier
        snapshot, or when nothing lost any)."""
        losses = [part for part in self.parts if part.moved <= -MOVED_AT_LEAST]
        return min(losses, key=lambda part: part.moved, default=None)

    @property
    def weakest(self) -> ComponentLine | None:
        """The component with the lowest value (0–100) today, None when none has data."""
        scored = [line for line in self.lines if line.value is not None]
        return min(scored, key=lambda line: line.value or 0.0, default=None)


def account_health(*, account_id: int, days_back: int = 7) -> AccountHealthView | None:
    """An account's latest score explained, against its snapshot `days_back` days
    before (or the closest earlier one). None when it has no snapshot."""
    now = AccountHealth.objects.filter(account_id=account_id).order_by("-day").first()
    if now is None:
        return None
    before = (
        AccountHealth.objects.filter(
            account_id=account_id, day__lte=now.day - timedelta(days=days_back)
        )
        .order_by("-day")
        .first()
    )
    return health_view(now, before)


def health_at_risk_list(*, day: date, owner: User | None = None) -> QuerySet[AccountHealth]:
    """The day's at-risk snapshots (only `owner`'s accounts when given) with their
    accounts, lowest score first."""
    snapshots = AccountHealth.objects.filter(day=day, band=HealthBand.AT_RISK)
    if owner is not None:
        snapshots = snapshots.filter(account__owner=owner)
    return snapshots.select_related("account").order_by("score", "account__name", "pk")


def health_views_of(
    snapshots: list[AccountHealth], *, days_back: int = 7
) -> list[AccountHealthView]:
    """Each snapshot explained against its account's snapshot `days_back` days before
    the earliest of them (or the closest earlier one), in the same order: one query."""
    if not snapshots:
        return []
    cutoff = min(s.day for s in snapshots) - timedelta(days=days_back)
    before = {
        h.account_id: h
        for h in AccountHealth.objects.filter(
            account_id__in=[s.account_id for s in snapshots], day__lte=cutoff
        )
        .order_by("account_id", "-day")
        .distinct("account_id")
    }
    return [health_view(s, before.get(s.account_id)) for s in snapshots]


def health_view(now: AccountHealth, before: AccountHealth | None) -> AccountHealthView:
    """A snapshot explained component by component, against an earlier one (or None):
    what each component adds, and the score's change split into what moved it."""
    labels = dict(HealthComponent.choices)
    parts: list[Mover] = []
    if before is not None:
        split = score_change(
            values_before={c: getattr(before, c) for c in COMPONENTS},
            points_before=before.contributions,
            values_now={c: getattr(now, c) for c in COMPONENTS},
            points_now=now.contributions,
        )
        parts = [
            Mover(
                kind=kind,
                component=component,
                label=labels[component] if component else WEIGHTS_LABEL,
                moved=moved,
                value_before=getattr(before, component) if component else None,
                value=getattr(now, component) if component else None,
            )
            for kind, component, moved in split
        ]
    lines = []
    for component in COMPONENTS:
        value = getattr(now, component)
        points = now.contributions.get(component)
        lines.append(
            ComponentLine(
                component=component,
                label=str(labels[component]),
                value=value,
                points=points,
                share=None if points is None or not value else points / value,
                value_before=None if before is None else getattr(before, component),
                points_before=None if before is None else before.contributions.get(component),
                moved=sum(p.moved for p in parts if p.component == component),
            )
        )
    return AccountHealthView(now=now, before=before, lines=lines, parts=parts)


def health_band_changes(model: Model) -> pd.DataFrame:
    """How the latest snapshot's customers would be banded under `model`: a table of
    counts, stored band (rows) × proposed band (columns, and NO_SCORE), every band
    present."""
    day = health_latest_day()
    rows = (
        list(AccountHealth.objects.filter(day=day).values("account_id", "band", *COMPONENTS))
        if day
        else []
    )
    frame = pd.DataFrame(rows, columns=["account_id", "band", *COMPONENTS]).set_index("account_id")
    frame[COMPONENTS] = frame[COMPONENTS].astype(float)
    scored = health_scores(frame[COMPONENTS], model)
    # A customer with none of the proposed weights' components would have no score.
    proposed = scored["band"].reindex(frame.index).fillna(NO_SCORE)
    bands = [str(b) for b in BAND_ORDER]
    table = pd.crosstab(frame["band"], proposed).reindex(
        index=bands, columns=[*bands, NO_SCORE], fill_value=0
    )
    return table.fillna(0).astype(int)


@dataclass(frozen=True)
class AccountTimeToValue:
    started_on: date  # its first day as a customer
    reached_on: date | None  # its first value milestone, None while waiting
    days: int  # to value, or waiting so far


def account_time_to_value(*, account_id: int, today: date) -> AccountTimeToValue | None:
    """An account's time to value (docs/metrics.md#time-to-value); None when it never
    paid or the organization has no value milestones."""
    from django.db.models import Min

    from accounts.models import Subscription
    from journeys.models import DailyFeatureUsage, ValueMilestone

    milestones = ValueMilestone.objects.values("event_name")
    if not milestones.exists():
        return None
    started_on = Subscription.objects.filter(
        account_id=account_id,
        mrr_cents__gt=0,  # billed: paying needs no exchange rate
    ).aggregate(first=Min("started_on"))["first"]
    if started_on is None:
        return None
    reached_on = DailyFeatureUsage.objects.filter(
        account_id=account_id, feature__in=milestones, day__lte=today
    ).aggregate(first=Min("day"))["first"]
    end = reached_on or today
    return AccountTimeToValue(started_on, reached_on, max((end - started_on).days, 0))


def health_mix_by_day(*, since: date, owner: User | None = None) -> pd.DataFrame:
    """Customers per band on each snapshot day from `since` (only `owner`'s accounts
    when given): one row per day, a column per band (0 where none)."""
    snapshots = AccountHealth.objects.filter(day__gte=since)
    if owner is not None:
        snapshots = snapshots.filter(account__owner=owner)
    rows = list(
        snapshots.values("day", "band").annotate(n=Count("id")).values_list("day", "band", "n")
    )
    bands = [str(b) for b in BAND_ORDER]
    # A few hundred cells: plain dicts, not a pivot (pandas' costs ~10 ms per page here).
    by_day: dict[date, dict[str, int]] = {}
    for day, band, n in rows:
        by_day.setdefault(day, dict.fromkeys(bands, 0))[band] = n
    days = sorted(by_day)
    return pd.DataFrame([by_day[d] for d in days], index=days, columns=bands)


def health_model_get() -> HealthModel:
    """The current organization's health model, or the defaults (unsaved) while it has
    none: for the pages' GETs, which write nothing (metrics.health.model.health_model
    stores it on the first save or recompute). One query."""
    return HealthModel.objects.first() or HealthModel()


TREND_DAYS = 365  # the trends drawn: a year (daily for 90 days, then weekly: the snapshots kept)


@dataclass(frozen=True)
class HealthTrend:
    """An account's score on each stored snapshot day, oldest first; `backfilled_at`:
    when the history was computed afterwards (the latest, if several), None when every
    point is a day's own snapshot."""

    days: list[date]
    scores: list[float]
    backfilled_at: datetime | None


def health_trend(*, account_id: int, since: date) -> HealthTrend:
    """An account's scores from `since` (one query)."""
    rows = list(
        AccountHealth.objects.filter(account_id=account_id, day__gte=since)
        .order_by("day")
        .values_list("day", "score", "backfilled_at")
    )
    backfilled = [at for _day, _score, at in rows if at is not None]
    return HealthTrend(
        days=[day for day, _score, _at in rows],
        scores=[score for _day, score, _at in rows],
        backfilled_at=max(backfilled) if backfilled else None,
    )


def health_sparklines(*, account_ids: list[int], since: date) -> dict[int, list[float]]:
    """Each account's scores from `since`, oldest first, for a page of accounts: one
    query whatever the number of accounts (accounts without a score are absent)."""
    scores: dict[int, list[float]] = {}
    rows = (
        AccountHealth.objects.filter(account_id__in=account_ids, day__gte=since)
        .order_by("account_id", "day")
        .values_list("account_id", "score")
    )
    for account_id, score in rows:
        scores.setdefault(account_id, []).append(score)
    return scores


def health_backfilled_at(*, since: date) -> datetime | None:
    """When the snapshots from `since` were computed afterwards (the latest), None when
    none was: for the note under the organization's trends."""
    latest = (
        AccountHealth.objects.filter(day__gte=since, backfilled_at__isnull=False)
        .order_by("-backfilled_at")
        .values_list("backfilled_at", flat=True)
        .first()
    )
    return latest
