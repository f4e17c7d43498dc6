"""Engagement, adoption, time to value and the health score (METRICS.md, Engagement,
adoption, value; Health; the choices are in docs/metrics.md).

Everything is computed "as of" a day D (the organization's time zone), from data
up to the end of D: the daily usage rollups (never the raw events), survey
responses, negative touchpoints, value milestones and subscriptions. A customer
is an account with a subscription active on D.

The loaders (`health_inputs`) run a fixed number of queries per as-of day, each
returning at most a row per account; the computation (`health_components`,
`health_scores`, `triad_flags`) is whole-frame pandas, pure, and what the tests
check against hand-computed tables. `health_recompute` writes the day's
snapshot; the back-test (metrics.backtest) evaluates past days the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Min

from accounts.audit import audit_record
from accounts.models import AuditEvent, Contact
from csplatform.clock import organization_midnight, organization_today
from csplatform.db import array_literal
from csplatform.tasks import organization_lock
from csplatform.tenancy import current_organization
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
from metrics.models import (
    AccountHealth,
    AdoptionMetrics,
    HealthBand,
    HealthComponent,
    HealthModel,
    TimeToValueCohort,
)
from surveys.models import Response, SurveyKind

LOCK = "metrics.health.health_recompute"
COMPONENTS = [str(c) for c in HealthComponent]
ENGAGEMENT_PARTS = ["frequency", "breadth", "depth"]

USAGE_WINDOW_DAYS = 30  # active days, features, contacts: the 30 days ending on D
TREND_DAYS = 90  # revenue trend: MRR on D against MRR 90 days before
SUPPORT_WINDOW_DAYS = 90  # negative touchpoints of the 90 days ending on D
SATISFACTION_MAX_AGE_DAYS = 365  # an older answer no longer speaks for the account
RENEWAL_HORIZON_DAYS = 90  # a renewal this far away or further scores 100
NEGATIVE_TOUCHPOINT_POINTS = 25  # support load loses this much per negative touchpoint
# Revenue trend: 75 when flat, +125 points per 100 % change (±20 % → 100 / 50), 0…100.
TREND_FLAT, TREND_SLOPE = 75.0, 125.0
# The triad: happy (satisfaction ≥ 70), engaged (engagement ≥ 60), unengaged (< 40),
# results (outcomes ≥ 50: half the milestones reached).
HAPPY_FROM, ENGAGED_FROM, UNENGAGED_BELOW, RESULTS_FROM = 70.0, 60.0, 40.0, 50.0
FLAG_HAPPY_UNENGAGED = "happy_unengaged"
FLAG_ENGAGED_NO_RESULTS = "engaged_no_results"
# Snapshots older than this are pruned, except each month's first day (kept for trends).
SNAPSHOT_DAILY_DAYS = 60


@dataclass(frozen=True)
class Model:
    """The parts of the organization's HealthModel the computation uses."""

    weights: Mapping[str, float]
    healthy_from: float = 70
    at_risk_below: float = 40
    engagement_weights: Mapping[str, float] = field(
        default_factory=lambda: {"frequency": 40, "breadth": 30, "depth": 30}
    )
    adoption_threshold: int = 2

    @classmethod
    def of(cls, stored: HealthModel) -> Model:
        return cls(
            weights={c: float(stored.weights.get(c, 0)) for c in COMPONENTS},
            healthy_from=stored.healthy_from,
            at_risk_below=stored.at_risk_below,
            engagement_weights={
                p: float(stored.engagement_weights.get(p, 0)) for p in ENGAGEMENT_PARTS
            },
            adoption_threshold=stored.adoption_threshold,
        )

    def band(self, score: np.ndarray) -> np.ndarray:
        return np.where(
            score >= self.healthy_from,
            HealthBand.HEALTHY.value,
            np.where(
                score < self.at_risk_below, HealthBand.AT_RISK.value, HealthBand.NEUTRAL.value
            ),
        )


def adoption_threshold(model: Model, core_features: int) -> int:
    """Core features a customer must use to count as adopted: the model's threshold,
    at most the number of core features there are (else nobody could)."""
    return max(min(model.adoption_threshold, core_features), 1)


def health_model() -> HealthModel:
    """The current organization's health model, created with the defaults if missing."""
    stored, _created = HealthModel.objects.get_or_create()
    return stored


# What the audit log compares before and after a change of the model.
AUDITED_FIELDS = (
    "weights",
    "engagement_weights",
    "healthy_from",
    "at_risk_below",
    "adoption_threshold",
)


@transaction.atomic
def health_model_update(*, model: Model, by: Any) -> HealthModel:
    """Store the organization's health model and have the health recomputed with it."""
    from metrics.services import health_mark_stale

    stored = health_model()
    before = {name: getattr(stored, name) for name in AUDITED_FIELDS}
    stored.weights = {c: model.weights.get(c, 0) for c in COMPONENTS}
    stored.engagement_weights = {p: model.engagement_weights.get(p, 0) for p in ENGAGEMENT_PARTS}
    stored.healthy_from = int(model.healthy_from)
    stored.at_risk_below = int(model.at_risk_below)
    stored.adoption_threshold = model.adoption_threshold
    stored.updated_by = by
    stored.save()
    changed = {
        name: {"old": before[name], "new": getattr(stored, name)}
        for name in AUDITED_FIELDS
        if before[name] != getattr(stored, name)
    }
    audit_record(
        AuditEvent.Action.HEALTH_MODEL_UPDATED,
        actor=by,
        details={"changed": changed},
    )
    health_mark_stale()
    return stored


# --- inputs ---------------------------------------------------------------------------


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


def health_inputs(subscriptions: pd.DataFrame, as_of: date, *, known_ends: bool = True) -> Inputs:
    """Load the inputs of `as_of` for the current organization: a fixed number of
    queries, each at most a row per account. (`known_ends`: see customers_on.)"""
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
    # Contacts as they stand (imports record when a contact was loaded, not when it
    # joined the customer), for past days too: the back-test scores the same depth.
    contacts = _frame(
        Contact.objects.values("account_id").annotate(n=Count("id")).values_list("account_id", "n"),
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
        .values_list("account_id", "kind", "score"),
        ["account_id", "kind", "score"],
    )
    support_start = end - timedelta(days=SUPPORT_WINDOW_DAYS)
    touchpoints = Touchpoint.objects.filter(occurred_at__gte=support_start, occurred_at__lt=end)
    negatives = _frame(
        touchpoints.filter(sentiment=Sentiment.NEGATIVE)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n"),
        ["account_id", "negatives"],
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
        customers=customers_on(subscriptions, as_of, known_ends=known_ends),
        usage=usage,
        satisfaction=satisfaction,
        negatives=negatives,
        milestones_reached=reached,
        feature_pairs=feature_pairs,
        core_features=len(core),
        milestones=len(milestones),
        touchpoints_recorded=touchpoints.exists(),
    )


# --- the computation ------------------------------------------------------------------


def satisfaction_points(kind: np.ndarray, score: np.ndarray) -> np.ndarray:
    """A survey answer on 0–100: NPS × 10, CSAT (1–5) and CES (1–7) scaled from their
    lowest (0) to their highest (100)."""
    score = score.astype(float)
    return np.select(
        [kind == SurveyKind.NPS, kind == SurveyKind.CSAT, kind == SurveyKind.CES],
        [score * 10, (score - 1) / 4 * 100, (score - 1) / 6 * 100],
        default=np.nan,
    )


def percentile(values: pd.Series) -> pd.Series:
    """Each value's percentile among `values` (0–100): the share below plus half the
    share equal (mid-rank); 0 for a zero (no activity is no engagement)."""
    n = len(values)
    if n == 0:
        return values.astype(float)
    below = values.rank(method="min") - 1
    equal = values.map(values.value_counts())
    result = (below + equal / 2) / n * 100
    return result.where(values > 0, 0.0)


def _weighted(parts: pd.DataFrame, weights: Mapping[str, float]) -> tuple[pd.Series, pd.DataFrame]:
    """Σ wᵢ·xᵢ ÷ Σ wᵢ over the parts present (not NaN) in each row, and each part's
    contribution (wᵢ·xᵢ ÷ Σ wᵢ present). NaN where no weighted part is present."""
    w = pd.Series({c: float(weights.get(c, 0)) for c in parts.columns})
    present = parts.notna() & (w > 0)
    total = present.mul(w, axis=1).sum(axis=1)
    share = present.mul(w, axis=1).div(total.where(total > 0), axis=0)
    contributions = parts.fillna(0).mul(share)
    contributions = contributions.where(present)
    return contributions.sum(axis=1, min_count=1), contributions


def health_components(inputs: Inputs, model: Model) -> pd.DataFrame:
    """One row per customer (indexed by account_id): each component on 0–100 (NaN: no
    data), the engagement inputs, and the renormalized engagement score."""
    frame = inputs.customers.set_index("account_id")
    usage = inputs.usage.set_index("account_id").reindex(frame.index).fillna(0)
    for column in ("active_days", "features_used", "core_features_used", "active_contacts"):
        frame[column] = usage[column].astype(int) if column in usage else 0
    frame["contacts"] = usage["contacts"].astype(int) if "contacts" in usage else 0

    depth = (frame["active_contacts"] / frame["contacts"].where(frame["contacts"] > 0)).clip(
        upper=1
    )
    parts = pd.DataFrame(
        {
            "frequency": percentile(frame["active_days"]),
            "breadth": percentile(frame["features_used"]),
            # ranked among the customers that have contacts: no data neither helps nor hurts
            "depth": percentile(depth.dropna()).reindex(frame.index),
        },
        index=frame.index,
    )
    engagement, _parts = _weighted(parts, model.engagement_weights)
    frame[HealthComponent.ENGAGEMENT] = engagement

    if inputs.core_features:
        threshold = adoption_threshold(model, inputs.core_features)
        frame[HealthComponent.ADOPTION] = (frame["core_features_used"] / threshold).clip(
            upper=1
        ) * 100
    else:
        frame[HealthComponent.ADOPTION] = np.nan

    answers = inputs.satisfaction.set_index("account_id").reindex(frame.index)
    frame[HealthComponent.SATISFACTION] = satisfaction_points(
        answers["kind"].to_numpy(dtype=object), answers["score"].to_numpy(dtype=float)
    )

    before = frame["mrr_before"].where(frame["mrr_before"] > 0)
    change = (frame["mrr"] - before) / before
    frame[HealthComponent.REVENUE_TREND] = (TREND_FLAT + TREND_SLOPE * change).clip(0, 100)

    if inputs.touchpoints_recorded:
        negatives = (
            inputs.negatives.set_index("account_id")["negatives"].reindex(frame.index).fillna(0)
        )
        frame[HealthComponent.SUPPORT_LOAD] = (100 - NEGATIVE_TOUCHPOINT_POINTS * negatives).clip(
            lower=0
        )
    else:
        frame[HealthComponent.SUPPORT_LOAD] = np.nan

    if inputs.milestones:
        reached = (
            inputs.milestones_reached.set_index("account_id")["reached"]
            .reindex(frame.index)
            .fillna(0)
        )
        frame[HealthComponent.OUTCOMES] = reached / inputs.milestones * 100
    else:
        frame[HealthComponent.OUTCOMES] = np.nan

    days_left = (
        frame["next_renewal"].to_numpy(dtype="datetime64[D]") - np.datetime64(inputs.as_of, "D")
    ).astype("timedelta64[D]")
    days = pd.Series(days_left.astype(float), index=frame.index)
    days[np.isnat(days_left)] = np.nan
    frame[HealthComponent.RENEWAL_PROXIMITY] = (days / RENEWAL_HORIZON_DAYS).clip(upper=1) * 100
    return frame


def health_scores(components: pd.DataFrame, model: Model) -> pd.DataFrame:
    """The score (0–100) of each row with its band and each component's contribution
    (`<component>_points`, summing to the score), weights renormalized over the
    components the row has. Rows with no weighted component are dropped."""
    score, contributions = _weighted(components[COMPONENTS], model.weights)
    result = components.copy()
    result["score"] = score
    for component in COMPONENTS:
        result[f"{component}_points"] = contributions[component]
    result = result[result["score"].notna()]
    result["band"] = model.band(result["score"].to_numpy())
    return result


def triad_flags(components: pd.DataFrame) -> pd.DataFrame:
    """The triad (engagement → results → happiness) flags of each row, as booleans:
    `happy_unengaged`, happy without engagement or results ("may leave smiling");
    `engaged_no_results`, engaged without results ("churn ahead"). Without
    milestones, results are unknown and flag nothing."""
    happy = components[HealthComponent.SATISFACTION] >= HAPPY_FROM
    engagement = components[HealthComponent.ENGAGEMENT]
    no_results = components[HealthComponent.OUTCOMES] < RESULTS_FROM  # False where unknown
    return pd.DataFrame(
        {
            FLAG_HAPPY_UNENGAGED: happy & ((engagement < UNENGAGED_BELOW) | no_results),
            FLAG_ENGAGED_NO_RESULTS: (engagement >= ENGAGED_FROM) & no_results,
        },
        index=components.index,
    )


# --- writing the day's results ----------------------------------------------------------


@dataclass(frozen=True)
class HealthResult:
    day: date
    accounts: int
    bands: dict[str, int]


@transaction.atomic(savepoint=False)
def health_recompute(*, today: date | None = None) -> HealthResult:
    """Compute and store the current organization's health snapshot of `today` (its
    time zone): every customer's score, band, components and contributions, triad
    flags, and the day's adoption; and the time-to-value cohorts. Replaces the day's
    rows (one transaction, under the organization's lock); prunes old daily rows."""
    from metrics.services import subscriptions_frame

    organization_lock(LOCK)
    today = today or organization_today()
    model = Model.of(health_model())
    subscriptions = subscriptions_frame()
    inputs = health_inputs(subscriptions, today)
    scored = health_scores(health_components(inputs, model), model)
    scored = scored.join(triad_flags(scored))
    AccountHealth.objects.filter(day=today).delete()
    _snapshot_insert(scored, today)
    AccountHealth.objects.filter(day__lt=today - timedelta(days=SNAPSHOT_DAILY_DAYS)).exclude(
        day__day=1
    ).delete()
    _adoption_store(inputs, scored, model, today)
    _time_to_value_store(inputs, subscriptions)
    bands = scored["band"].value_counts().to_dict()
    return HealthResult(today, len(scored), {str(k): int(v) for k, v in bands.items()})


_INTS = ("active_days", "features_used", "core_features_used", "active_contacts", "contacts")
_FLAGS = (FLAG_HAPPY_UNENGAGED, FLAG_ENGAGED_NO_RESULTS)


# One statement from whole columns: the contributions' JSON and the flags' array are
# built by Postgres, not row by row in Python. (COPY cannot write under RLS.) Floats
# arrive with NaN for "no data", turned into NULL here.
def _snapshot_sql() -> str:
    values = [f"NULLIF(r.{c}, 'NaN')" for c in COMPONENTS]
    points = ", ".join(f"'{c}', NULLIF(r.{c}_points, 'NaN')" for c in COMPONENTS)
    flags = ", ".join(f"CASE WHEN r.{f} THEN '{f}' END" for f in _FLAGS)
    arrays = [
        "%(account_id)s::bigint[]",
        "%(score)s::float8[]",
        "%(band)s::varchar[]",
        *(f"%({c})s::float8[]" for c in COMPONENTS),
        *(f"%({c}_points)s::float8[]" for c in COMPONENTS),
        *(f"%({f})s::boolean[]" for f in _FLAGS),
        *(f"%({c})s::int[]" for c in _INTS),
    ]
    names = [
        "account_id",
        "score",
        "band",
        *COMPONENTS,
        *(f"{c}_points" for c in COMPONENTS),
        *_FLAGS,
        *_INTS,
    ]
    # Column names and constants only; every value is a parameter.
    return (
        "INSERT INTO metrics_accounthealth (organization_id, day, account_id, score, band, "  # noqa: S608 # nosec B608 # constant identifiers
        f"{', '.join(COMPONENTS)}, contributions, flags, {', '.join(_INTS)}) "
        f"SELECT %(organization)s, %(day)s, r.account_id, r.score, r.band, {', '.join(values)}, "
        f"jsonb_strip_nulls(jsonb_build_object({points})), "
        f"array_remove(ARRAY[{flags}]::varchar[], NULL), "
        f"{', '.join(f'r.{c}' for c in _INTS)} "
        f"FROM unnest({', '.join(arrays)}) AS r({', '.join(names)})"
    )


_SNAPSHOT_INSERT = _snapshot_sql()


def _snapshot_insert(scored: pd.DataFrame, day: date) -> None:
    if scored.empty:
        return
    params: dict[str, Any] = {
        "organization": current_organization().pk,
        "day": day,
        "account_id": array_literal(scored.index.to_numpy(dtype=np.int64)),
        "score": array_literal(scored["score"].to_numpy(dtype=float), float_format="%.4f"),
        "band": array_literal(scored["band"].to_numpy(dtype=object)),
    }
    for c in (*COMPONENTS, *(f"{c}_points" for c in COMPONENTS)):
        params[c] = array_literal(scored[c].to_numpy(dtype=float), float_format="%.4f")
    for f in _FLAGS:
        params[f] = array_literal(scored[f].to_numpy(dtype=bool))
    for c in _INTS:
        params[c] = array_literal(scored[c].to_numpy(dtype=np.int64))
    with connection.cursor() as cursor:
        cursor.execute(_SNAPSHOT_INSERT, params)


def _adoption_store(inputs: Inputs, scored: pd.DataFrame, model: Model, day: date) -> None:
    """The day's adoption: customers, those at the threshold of core features, and how
    many customers used each feature in the window."""
    customers = inputs.customers["account_id"]
    pairs = inputs.feature_pairs
    per_feature = pairs[pairs["account_id"].isin(customers)].groupby("feature").size()
    adopted = (
        int((scored["core_features_used"] >= adoption_threshold(model, inputs.core_features)).sum())
        if inputs.core_features
        else 0
    )
    AdoptionMetrics.objects.update_or_create(
        day=day,
        defaults={
            "customers": len(customers),
            "adopted": adopted,
            "adoption_rate": adopted / len(customers)
            if inputs.core_features and len(customers)
            else None,
            "feature_customers": {str(k): int(v) for k, v in per_feature.items()},
        },
    )
    AdoptionMetrics.objects.filter(day__lt=day - timedelta(days=SNAPSHOT_DAILY_DAYS)).exclude(
        day__day=1
    ).delete()


def time_to_value(subscriptions: pd.DataFrame, first_value: pd.DataFrame) -> pd.DataFrame:
    """Per customer (anyone who ever paid): the first day as a customer (`start`), its
    month (`cohort`, months since 1970-01), and the days to its first value milestone
    (`days`: NaN while waiting; a milestone reached before paying counts as 0)."""
    paying = subscriptions[revenue.subscription_mrr(subscriptions) > 0]
    starts = paying.groupby("account_id")["started_on"].min().rename("start").to_frame()
    starts["cohort"] = revenue.month_of(starts["start"].to_numpy(dtype="datetime64[D]"))
    value = first_value.set_index("account_id")["day"].reindex(starts.index)
    value_days = pd.to_datetime(value).to_numpy(dtype="datetime64[D]")
    delta = (value_days - starts["start"].to_numpy(dtype="datetime64[D]")).astype("timedelta64[D]")
    days = delta.astype(float)
    days[np.isnat(delta)] = np.nan
    starts["days"] = np.maximum(days, 0)
    return starts


def time_to_value_cohorts(per_customer: pd.DataFrame) -> pd.DataFrame:
    """Per monthly cohort: customers, those that reached value, the median days to
    value of those, and the share still waiting."""
    grouped = per_customer.groupby("cohort")["days"]
    cohorts = pd.DataFrame(
        {
            "customers": grouped.size(),
            "reached": grouped.count(),
            "median_days": grouped.median(),
        }
    )
    cohorts["waiting_share"] = 1 - cohorts["reached"] / cohorts["customers"]
    return cohorts


def _time_to_value_store(inputs: Inputs, subscriptions: pd.DataFrame) -> None:
    TimeToValueCohort.objects.all().delete()
    if not inputs.milestones or subscriptions.empty:
        return
    first_value = inputs.milestones_reached[["account_id", "first_day"]].rename(
        columns={"first_day": "day"}
    )
    cohorts = time_to_value_cohorts(time_to_value(subscriptions, first_value))
    TimeToValueCohort.objects.bulk_create(
        TimeToValueCohort(
            month=revenue.month_start(int(month)).item(),
            customers=int(row.customers),
            reached=int(row.reached),
            median_days=None if pd.isna(row.median_days) else float(row.median_days),
            waiting_share=float(row.waiting_share),
        )
        for month, row in cohorts.iterrows()
    )
