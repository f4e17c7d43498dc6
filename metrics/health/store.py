"""The writers: `health_recompute` computes the current organization's day and
stores its snapshot (scores, bands, components, contributions, flags), the day's
adoption and the time-to-value cohorts, replacing the day's rows atomically."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import DateField, ExpressionWrapper, F, QuerySet

from accounts.tenancy import current_organization
from csplatform.clock import organization_today
from csplatform.db import array_literal
from csplatform.tasks import organization_lock
from metrics import revenue
from metrics.health.inputs import Inputs, health_inputs
from metrics.health.model import COMPONENTS, Model, adoption_threshold, health_model
from metrics.health.scoring import (
    FLAG_ENGAGED_NO_RESULTS,
    FLAG_HAPPY_UNENGAGED,
    health_components,
    health_scores,
    time_to_value,
    time_to_value_cohorts,
    triad_flags,
)
from metrics.models import AccountHealth, AdoptionMetrics, TimeToValueCohort

# The lock's name predates the package: kept, so workers of the previous release and
# of this one still exclude each other during a rolling deploy.
LOCK = "metrics.health.health_recompute"
# The snapshots kept (and the days the backfill computes, metrics.health.backfill):
# every day of the last SNAPSHOT_DAILY_DAYS, one day a week (SNAPSHOT_WEEKDAY: Monday,
# a fixed weekday so what is kept does not shift as days pass) of the last
# SNAPSHOT_WEEKLY_DAYS, and each month's first and last day forever (trends, and
# periods compared at the same place: the executive page).
SNAPSHOT_DAILY_DAYS = 90
SNAPSHOT_WEEKLY_DAYS = 365
SNAPSHOT_WEEKDAY = 0  # date.weekday(): Monday


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
    components, scored = day_scored(inputs, model)
    AccountHealth.objects.filter(day=today).delete()
    snapshot_insert(scored, today)
    _prune(AccountHealth.objects.all(), today)
    adoption_store(inputs, components, model, today)
    _prune(AdoptionMetrics.objects.all(), today)
    _time_to_value_store(inputs, subscriptions)
    if not scored.empty:
        from metrics.health.backfill import health_backfill_request_first

        health_backfill_request_first()  # customers, and no history computed yet
    bands = scored["band"].value_counts().to_dict()
    return HealthResult(today, len(scored), {str(k): int(v) for k, v in bands.items()})


def day_scored(inputs: Inputs, model: Model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The components of the inputs' day and the scored customers (score, band,
    contributions, triad flags): the one computation of the nightly snapshot and of
    the backfill."""
    components = health_components(inputs, model)
    scored = health_scores(components, model)
    return components, scored.join(triad_flags(scored))


def snapshot_days_kept(today: date) -> list[date]:
    """The past days (before `today`, newest first) whose snapshot is kept, back to
    SNAPSHOT_WEEKLY_DAYS: every day of the last SNAPSHOT_DAILY_DAYS, then each
    SNAPSHOT_WEEKDAY and each month's first and last day. (Older month edges are kept
    too, but are not computed afterwards.)"""
    days = []
    for back in range(1, SNAPSHOT_WEEKLY_DAYS + 1):
        day = today - timedelta(days=back)
        if (
            back <= SNAPSHOT_DAILY_DAYS
            or day.weekday() == SNAPSHOT_WEEKDAY
            or day.day == 1
            or (day + timedelta(days=1)).day == 1
        ):
            days.append(day)
    return days


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
        f"{', '.join(COMPONENTS)}, contributions, flags, {', '.join(_INTS)}, backfilled_at) "
        f"SELECT %(organization)s, %(day)s, r.account_id, r.score, r.band, {', '.join(values)}, "
        f"jsonb_strip_nulls(jsonb_build_object({points})), "
        f"array_remove(ARRAY[{flags}]::varchar[], NULL), "
        f"{', '.join(f'r.{c}' for c in _INTS)}, %(backfilled_at)s "
        f"FROM unnest({', '.join(arrays)}) AS r({', '.join(names)})"
    )


_SNAPSHOT_INSERT = _snapshot_sql()


def snapshot_insert(
    scored: pd.DataFrame, day: date, *, backfilled_at: datetime | None = None
) -> None:
    """Insert the scored customers as `day`'s snapshot (one statement); `backfilled_at`:
    computed after the fact, at that instant (None: the day's own snapshot)."""
    if scored.empty:
        return
    params: dict[str, Any] = {
        "organization": current_organization().pk,
        "day": day,
        "backfilled_at": backfilled_at,
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


def _prune(rows: QuerySet[Any], today: date) -> None:
    """Delete the rows of the days no longer kept (see snapshot_days_kept): older than
    SNAPSHOT_DAILY_DAYS, except SNAPSHOT_WEEKDAY's of the last SNAPSHOT_WEEKLY_DAYS and
    each month's first and last day (trends, and periods compared at the same place:
    the executive page)."""
    next_day = ExpressionWrapper(F("day") + timedelta(days=1), output_field=DateField())
    rows.filter(day__lt=today - timedelta(days=SNAPSHOT_DAILY_DAYS)).alias(
        next_day=next_day
    ).exclude(day__day=1).exclude(next_day__day=1).exclude(
        day__gte=today - timedelta(days=SNAPSHOT_WEEKLY_DAYS),
        day__iso_week_day=SNAPSHOT_WEEKDAY + 1,
    ).delete()


def adoption_store(
    inputs: Inputs,
    components: pd.DataFrame,
    model: Model,
    day: date,
    *,
    backfilled_at: datetime | None = None,
) -> None:
    """Store the day's adoption: customers, those at the threshold of core features,
    and how many customers used each feature in the window. Counted over every customer
    (`components`, before scoring), whatever the weights: a customer without a score
    still adopted or not. `backfilled_at` as in snapshot_insert."""
    customers = inputs.customers["account_id"]
    pairs = inputs.feature_pairs
    per_feature = pairs[pairs["account_id"].isin(customers)].groupby("feature").size()
    adopted = (
        int(
            (
                components["core_features_used"] >= adoption_threshold(model, inputs.core_features)
            ).sum()
        )
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
            "backfilled_at": backfilled_at,
        },
    )


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
