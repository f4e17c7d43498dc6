"""The loaders: the inputs of one as-of day, read from the database into frames.

`health_inputs` runs a fixed number of queries per as-of day, each returning at most
a row per account, from the daily usage rollups (never the raw events), survey
responses, negative touchpoints, value milestones and subscriptions. A customer is
an account with a subscription active on the day (`customers_on`, pure over the
subscriptions frame)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Contact
from csplatform.clock import organization_midnight
from journeys.ingest import FEEDBACK_TOUCHPOINT_PREFIX, feedback_touchpoint_id_of
from journeys.models import (
    CoreFeature,
    DailyContactUsage,
    DailyFeatureUsage,
    DailyUsage,
    Sentiment,
    Touchpoint,
    ValueMilestone,
)
from metrics import revenue
from surveys.models import Response, ResponseEdit, negative_answers

USAGE_WINDOW_DAYS = 30  # active days, features, contacts: the 30 days ending on D
TREND_DAYS = 90  # revenue trend: MRR on D against MRR 90 days before
SUPPORT_WINDOW_DAYS = 90  # negative touchpoints of the 90 days ending on D
SATISFACTION_MAX_AGE_DAYS = 365  # an older answer no longer speaks for the account


@dataclass(frozen=True)
class Inputs:
    """What the components of one as-of day are computed from, one row per account.

    `customers`: account_id, mrr and mrr_before (cents, on D and TREND_DAYS before),
    next_renewal (datetime64, NaT: none within a quarterly or yearly term);
    `usage`: account_id, active_days, features_used, core_features_used,
    active_contacts, contacts; `satisfaction`: account_id, kind, score (the latest
    answer); `negatives`: account_id, negatives; `milestones_reached`: account_id,
    reached (milestones), first_day (the first of them); `feature_pairs`: account_id,
    feature, each feature an account used in the window. Organization-wide: the
    number of core features and milestones, and whether any touchpoint was recorded
    in the support window.
    """

    as_of: date
    customers: pd.DataFrame
    usage: pd.DataFrame
    satisfaction: pd.DataFrame
    negatives: pd.DataFrame
    milestones_reached: pd.DataFrame
    feature_pairs: pd.DataFrame
    core_features: int
    milestones: int
    touchpoints_recorded: bool


def _frame(rows: Iterable[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=columns)


def customers_on(
    subscriptions: pd.DataFrame, as_of: date, *, known_ends: bool = True
) -> pd.DataFrame:
    """The customers on `as_of` (a paying subscription active that day): MRR then and
    TREND_DAYS before, and the account's next renewal (the earliest of its
    subscriptions', metrics.revenue.next_renewal: the rule of csp_next_renewal).
    `known_ends` False ignores ends after `as_of`, as they were not known then (the
    back-test)."""
    day = np.datetime64(as_of, "D")
    before = day - np.timedelta64(TREND_DAYS, "D")
    end = subscriptions["ended_on"].to_numpy(dtype="datetime64[D]")
    if not known_ends:
        end = np.where(end > day, np.datetime64("NaT", "D"), end)
    subs = subscriptions.assign(ended_on=end)
    start = subs["started_on"].to_numpy(dtype="datetime64[D]")
    mrr = revenue.subscription_mrr(subs)

    def active(on: np.datetime64) -> np.ndarray:
        return (start <= on) & (np.isnat(end) | (end > on))

    frame = pd.DataFrame(
        {
            "account_id": subs["account_id"].to_numpy(),
            "mrr": np.where(active(day), mrr, 0),
            "mrr_before": np.where(active(before), mrr, 0),
            "next_renewal": revenue.next_renewal(subs, as_of),
        }
    )
    grouped = frame.groupby("account_id").agg(
        mrr=("mrr", "sum"), mrr_before=("mrr_before", "sum"), next_renewal=("next_renewal", "min")
    )
    return grouped[grouped["mrr"] > 0].reset_index()


def _edits_after(end: datetime) -> QuerySet[ResponseEdit]:
    """The edits made to the outer response at or after `end`, earliest first."""
    return ResponseEdit.objects.filter(response=OuterRef("pk"), edited_at__gte=end).order_by(
        "edited_at", "id"
    )


def _score_then(end: datetime) -> Coalesce:
    """The score a response had just before `end`: what its first edit from then on says
    it was before (ResponseEdit keeps what each edit replaced), else its score."""
    return Coalesce(Subquery(_edits_after(end).values("score")[:1]), F("score"))


def _survey_touchpoints_then(
    touchpoints: QuerySet[Touchpoint], start: datetime, end: datetime
) -> tuple[QuerySet[Touchpoint], pd.DataFrame]:
    """The support window's touchpoints as known just before `end`, for the survey-born
    ones (journeys records a negative answer as a negative touchpoint, external id
    `survey-response-<id>`, and deletes it when an edit makes the answer non-negative).

    Returns `touchpoints` without those whose answer was not negative then (an edit
    from `end` on made it negative), and, per account, the `negatives` that had a
    touchpoint then which a later edit deleted: answers given in the window, negative
    then (surveys.models.negative_answers on the score then), edited from `end` on, and
    with no touchpoint now. An answer without an edit after the day is as it was then:
    its touchpoint, or the lack of one, is too."""
    answers = Response.objects.annotate(score_then=_score_then(end))
    made_negative_later = (
        answers.filter(account_id=OuterRef("account_id"))
        .annotate(touchpoint_id=feedback_touchpoint_id_of("pk"))
        .filter(touchpoint_id=OuterRef("external_id"))
        .exclude(negative_answers("score_then"))
    )
    has_touchpoint = Touchpoint.objects.filter(
        account_id=OuterRef("account_id"), external_id=feedback_touchpoint_id_of(OuterRef("pk"))
    )
    withdrawn = _frame(
        answers.filter(
            negative_answers("score_then"),
            Exists(_edits_after(end)),
            ~Exists(has_touchpoint),
            responded_at__gte=start,
            responded_at__lt=end,
        )
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n"),
        ["account_id", "negatives"],
    )
    known = touchpoints.exclude(
        Q(external_id__startswith=FEEDBACK_TOUCHPOINT_PREFIX) & Exists(made_negative_later)
    )
    return known, withdrawn


def _contacts_known_by(as_of: date, end: datetime) -> QuerySet[Contact]:
    """The contacts known at the end of `as_of` (`end`, the first instant after it):
    created by then, or seen by then, an event of theirs rolled up on a day up to
    `as_of` or an answer of theirs given before `end`. Events and answers count by when
    they happened, so contacts loaded at onboarding with their history count on the
    past days they were seen, as their events and answers do. An erased contact is gone
    from every day."""
    seen_in_events = DailyContactUsage.objects.filter(
        account_id=OuterRef("account_id"), contact_id=OuterRef("pk"), day__lte=as_of
    )
    seen_in_answers = Response.objects.filter(contact_id=OuterRef("pk"), responded_at__lt=end)
    return Contact.objects.filter(
        Q(created_at__lt=end) | Exists(seen_in_events) | Exists(seen_in_answers)
    )


def health_inputs(subscriptions: pd.DataFrame, as_of: date, *, hindsight: bool = False) -> Inputs:
    """Load the inputs of `as_of` for the current organization: a fixed number of
    queries, each at most a row per account.

    A survey answer counts with the score it had at the end of `as_of` (an edit made
    later is undone with the ResponseEdit it left). `hindsight` (the back-test, scoring
    a past day) also keeps out what was not known then: subscription ends after
    `as_of` (see customers_on), contacts neither created nor seen by then (see
    _contacts_known_by), and negative touchpoints
    recorded or deleted by an answer's edit after it (the support load counts each
    answer's touchpoint as it stood then, see _survey_touchpoints_then)."""
    first_day = as_of - timedelta(days=USAGE_WINDOW_DAYS - 1)
    end = organization_midnight(as_of + timedelta(days=1))  # the first instant after
    core = list(CoreFeature.objects.values_list("feature", flat=True))
    milestones = list(ValueMilestone.objects.values_list("event_name", flat=True))

    active_days = _frame(
        DailyUsage.objects.filter(day__gte=first_day, day__lte=as_of)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n"),
        ["account_id", "active_days"],
    )
    # Which features each account used in the window: breadth, core features and the
    # customers per feature, from one index-only read.
    feature_pairs = _frame(
        DailyFeatureUsage.objects.filter(day__gte=first_day, day__lte=as_of)
        .values_list("account_id", "feature")
        .distinct(),
        ["account_id", "feature"],
    )
    features = (
        pd.DataFrame(
            {
                "features_used": feature_pairs.groupby("account_id").size(),
                "core_features_used": feature_pairs[feature_pairs["feature"].isin(core)]
                .groupby("account_id")
                .size(),
            }
        )
        .rename_axis("account_id")
        .reset_index()
    )
    active_contacts = _frame(
        DailyContactUsage.objects.filter(day__gte=first_day, day__lte=as_of)
        .values("account_id")
        .annotate(n=Count("contact_id", distinct=True))
        .values_list("account_id", "n"),
        ["account_id", "active_contacts"],
    )
    on_file = _contacts_known_by(as_of, end) if hindsight else Contact.objects.all()
    contacts = _frame(
        on_file.values("account_id").annotate(n=Count("id")).values_list("account_id", "n"),
        ["account_id", "contacts"],
    )
    usage = active_days
    for part in (features, active_contacts, contacts):
        usage = usage.merge(part, on="account_id", how="outer")
    usage = usage.fillna(0)

    satisfaction = _frame(
        Response.objects.filter(
            responded_at__lt=end,
            responded_at__gte=end - timedelta(days=SATISFACTION_MAX_AGE_DAYS),
        )
        .order_by("account_id", "-responded_at", "-id")
        .distinct("account_id")
        .annotate(score_then=_score_then(end))
        .values_list("account_id", "kind", "score_then"),
        ["account_id", "kind", "score"],
    )
    support_start = end - timedelta(days=SUPPORT_WINDOW_DAYS)
    touchpoints = Touchpoint.objects.filter(occurred_at__gte=support_start, occurred_at__lt=end)
    withdrawn = _frame([], ["account_id", "negatives"])
    if hindsight:
        touchpoints, withdrawn = _survey_touchpoints_then(touchpoints, support_start, end)
    negatives = _frame(
        touchpoints.filter(sentiment=Sentiment.NEGATIVE)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n"),
        ["account_id", "negatives"],
    )
    if not withdrawn.empty:
        negatives = (
            pd.concat([negatives, withdrawn])
            .groupby("account_id", as_index=False)["negatives"]
            .sum()
        )
    reached = _frame(
        DailyFeatureUsage.objects.filter(feature__in=milestones, day__lte=as_of)
        .values("account_id")
        .annotate(n=Count("feature", distinct=True), first=Min("day"))
        .values_list("account_id", "n", "first"),
        ["account_id", "reached", "first_day"],
    )
    return Inputs(
        as_of=as_of,
        customers=customers_on(subscriptions, as_of, known_ends=not hindsight),
        usage=usage,
        satisfaction=satisfaction,
        negatives=negatives,
        milestones_reached=reached,
        feature_pairs=feature_pairs,
        core_features=len(core),
        milestones=len(milestones),
        touchpoints_recorded=not withdrawn.empty or touchpoints.exists(),
    )
