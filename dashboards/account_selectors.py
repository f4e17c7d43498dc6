"""Reads of the account 360° page: one account's MRR history from its subscriptions,
and its timeline of touchpoints, survey responses, notes and stage changes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Q, QuerySet

from accounts.models import Note, Subscription
from journeys.models import StageTransition, Touchpoint
from metrics import revenue
from surveys.models import Response


def account_mrr_cents(subscriptions: Sequence[Subscription], *, today: date) -> int:
    """The account's MRR in cents of the reporting currency on `today`: its
    subscriptions covering that day (started on or before it, ending after it), each
    normalized to a month; those without an exchange rate left out."""
    return sum(
        s.reported_mrr_cents
        for s in subscriptions
        if s.reported_mrr_cents is not None
        and s.started_on <= today
        and (s.ended_on is None or s.ended_on > today)
    )


def account_mrr_history(subscriptions: Sequence[Subscription], *, through: date) -> pd.DataFrame:
    """The account's MRR in cents at the end of each month, as the revenue metrics
    count it (metrics.revenue.mrr_matrix): one row per month from its first
    subscription's month through `through`'s, with the columns `month` (its first day)
    and `mrr_cents` (of the reporting currency; a subscription without an exchange rate
    is left out). Empty when it has no subscription started by then."""
    subscriptions = [s for s in subscriptions if s.reported_mrr_cents is not None]
    frame = pd.DataFrame(
        {
            "account_id": np.array([s.account_id for s in subscriptions], dtype=np.int64),
            "mrr_cents": np.array([s.reported_mrr_cents for s in subscriptions], dtype=np.int64),
            "interval_months": np.array([s.interval_months for s in subscriptions], dtype=np.int64),
            "started_on": np.array([s.started_on for s in subscriptions], dtype="datetime64[D]"),
            "ended_on": np.array([s.ended_on for s in subscriptions], dtype="datetime64[D]"),
        }
    )
    matrix = revenue.mrr_matrix(frame, through=int(revenue.month_of(through)))
    if matrix.mrr.size == 0:
        return pd.DataFrame({"month": [], "mrr_cents": []})
    return pd.DataFrame(
        {
            "month": [day.item() for day in revenue.month_start(matrix.months)],
            "mrr_cents": matrix.mrr.sum(axis=0),  # one row: this account's
        }
    )


# --- the timeline -------------------------------------------------------------------------

# Each kind of event, in the order that breaks a tie between events at the same moment.
TOUCHPOINT, RESPONSE, NOTE, STAGE = "touchpoint", "response", "note", "stage"
KINDS = (TOUCHPOINT, RESPONSE, NOTE, STAGE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(\d{1,20})\.([a-z]+)\.(\d{1,20})$")


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # one of KINDS
    at: datetime
    event: Any  # a Touchpoint, Response, Note or StageTransition
    from_stage: str = ""  # the stage names of a stage change, in the active language
    to_stage: str = ""

    @property
    def cursor(self) -> str:
        """Where the events older than this one start: `<µs since 1970>.<kind>.<id>`."""
        micros = (self.at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.kind}.{self.event.pk}"


@dataclass(frozen=True)
class Cursor:
    """A place in the timeline, which runs newest first, then by kind, then newest id."""

    at: datetime
    rank: int  # the kind's place in KINDS
    pk: int

    @classmethod
    def parse(cls, value: str) -> Cursor | None:
        """The cursor of TimelineItem.cursor; None for anything else."""
        match = _CURSOR.match(value)
        if match is None or match[2] not in KINDS:
            return None
        try:
            at = _EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError:
            return None
        return cls(at=at, rank=KINDS.index(match[2]), pk=int(match[3]))

    def older(self, rank: int, field: str) -> Q:
        """The events of the kind at `rank` (time in `field`) after this cursor."""
        if rank < self.rank:
            return Q(**{f"{field}__lt": self.at})
        if rank > self.rank:
            return Q(**{f"{field}__lte": self.at})
        return Q(**{f"{field}__lt": self.at}) | Q(**{field: self.at, "pk__lt": self.pk})


@dataclass(frozen=True)
class Timeline:
    items: list[TimelineItem]  # newest first
    more: bool  # older events exist

    @property
    def next_cursor(self) -> str:
        return self.items[-1].cursor if self.more and self.items else ""


def _sources(account_id: int) -> list[tuple[str, QuerySet[Any], str]]:
    """Each kind's events of the account, with what they show, and their time field."""
    return [
        (
            TOUCHPOINT,
            Touchpoint.objects.filter(account_id=account_id).select_related("type", "contact"),
            "occurred_at",
        ),
        (
            RESPONSE,
            Response.objects.filter(account_id=account_id).select_related("contact"),
            "responded_at",
        ),
        (NOTE, Note.objects.filter(account_id=account_id).select_related("author"), "created_at"),
        (
            STAGE,
            StageTransition.objects.filter(account_id=account_id).select_related("changed_by"),
            "changed_at",
        ),
    ]


def account_timeline(
    *,
    account_id: int,
    stage_names: Mapping[str, str],
    before: Cursor | None = None,
    limit: int = 50,
) -> Timeline:
    """The account's latest `limit` events (older than `before`, when given), newest
    first, and whether older ones remain. One query per kind of event, whatever the
    account's history: each kind's latest `limit` + 1, merged here. A stage change
    carries its stages' names from `stage_names` (key → name; the key when unknown)."""
    items: list[TimelineItem] = []
    for rank, (kind, events, field) in enumerate(_sources(account_id)):
        if before is not None:
            events = events.filter(before.older(rank, field))
        for event in events.order_by(f"-{field}", "-pk")[: limit + 1]:
            extra = {}
            if kind == STAGE:
                extra = {
                    "from_stage": stage_names.get(event.from_stage, event.from_stage),
                    "to_stage": stage_names.get(event.to_stage, event.to_stage),
                }
            items.append(TimelineItem(kind, getattr(event, field), event, **extra))
    items.sort(key=lambda item: (item.at, -KINDS.index(item.kind), item.event.pk), reverse=True)
    return Timeline(items=items[:limit], more=len(items) > limit)
