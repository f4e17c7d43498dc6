"""Recomputing an organization's stored metrics: full, or from the first stale month on.

A full run reads the organization's whole subscription history (one query:
whether an account's return is new or a reactivation depends on all of it)
and computes in memory with whole-frame NumPy. An incremental run does the
same but replaces only the months from the first stale one, and the cohorts
only when a complete month changed; except in the common case, where only the
current month is stale and the accounts that changed are known: then it
rebuilds the current month from per-account terms, reading only those
accounts' subscriptions (metrics.terms). The replacement is one transaction
under a per-organization advisory lock: readers see the old results or the
new ones, and a run killed halfway leaves the old ones and the stale mark in
place.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, Subscription, User
from accounts.tenancy import current_organization
from csplatform.clock import organization_today
from csplatform.tasks import enqueue_debounced, organization_lock
from journeys.models import Playbook
from journeys.rollups import usage_roll_up
from metrics import cohorts as cohort_metrics
from metrics import revenue, terms
from metrics.health.store import HealthResult, health_recompute
from metrics.models import CohortMetrics, MetricsState, MonthlyMetrics
from metrics.playbooks import playbooks_default, playbooks_run_and_notify
from metrics.satisfaction import satisfaction_recompute

logger = logging.getLogger(__name__)

LOCK = "metrics.services.metrics_recompute"
# The most months a recompute builds (50 years). The accepted dates (csplatform.bounds:
# from 2000-01-01 to a year ahead) need about 28 today; a history stored before the
# bounds existed (a subscription "from 1900", "from 0002") would need centuries of
# monthly rows and the memory to build them, and is refused instead, by name.
MAX_RECOMPUTE_MONTHS = 600


class TooManyMonths(ValueError):  # noqa: N818 (a verdict on the history, like ValueError)
    """The subscription history spans more months than a recompute may build."""


# More changed accounts than this since the whole history was last read, and the next
# recompute reads it rather than the accounts one by one (see metrics.terms).
MAX_CHANGED_ACCOUNTS = 1000


@dataclass(frozen=True)
class Computed:
    months: pd.DataFrame  # indexed by month (months since 1970-01)
    cohorts: list[cohort_metrics.Cohort]
    # The current month's per-account terms and renewal dates (metrics.terms).
    terms: dict[str, np.ndarray]
    renewal_dates: pd.DataFrame


@dataclass(frozen=True)
class RecomputeResult:
    months: int = 0
    cohorts: int = 0
    since: date | None = None  # None: everything was recomputed
    skipped: bool = False  # nothing was stale
    accounts: int = 0  # the accounts read one by one (0: the whole history was read)
    refused: str = ""  # why revenue was not recomputed (TooManyMonths), else empty


def _days(values: tuple[Any, ...]) -> np.ndarray:
    """Days since 1970-01-01 (None: NaT) as datetime64[D]."""
    days = np.array(values, dtype=float)
    result = np.full(len(days), np.datetime64("NaT", "D"))
    known = ~np.isnan(days)
    result[known] = days[known].astype(np.int64)
    return result


def subscriptions_frame() -> pd.DataFrame:
    """The current organization's subscriptions, one query, dates as datetime64: the
    columns of metrics.revenue's subscriptions frame (MRR and interval as stored; the
    MRR in cents of the reporting currency, Subscription.reported_mrr_cents). One
    without an exchange rate is left out (docs/metrics.md#currencies: named on the
    "missing rates" notice instead)."""
    # Dates leave Postgres as day numbers: far cheaper to convert than date objects.
    epoch = "DATE '1970-01-01'"
    rows = list(
        Subscription.objects.filter(reported_mrr_cents__isnull=False)
        .annotate(
            # Constant SQL, no input in it.
            start_day=RawSQL(f"started_on - {epoch}", []),  # noqa: S611 # nosec B611 # constant SQL
            end_day=RawSQL(f"ended_on - {epoch}", []),  # noqa: S611 # nosec B611 # constant SQL
        )
        .values_list("account_id", "reported_mrr_cents", "interval_months", "start_day", "end_day")
    )
    account_id, mrr_cents, interval_months, started_on, ended_on = (
        list(zip(*rows, strict=True)) if rows else [()] * 5
    )
    return pd.DataFrame(
        {
            "account_id": np.array(account_id, dtype=np.int64),
            "mrr_cents": np.array(mrr_cents, dtype=np.int64),
            "interval_months": np.array(interval_months, dtype=np.int64),
            "started_on": _days(started_on),
            "ended_on": _days(ended_on),
        }
    )


def compute(
    subscriptions: pd.DataFrame,
    *,
    today: date,
    gross_margin: float = 1.0,
    annual_discount_rate: float = 0.1,
    with_cohorts: bool = True,
) -> Computed:
    """Every monthly metric through `today`'s month, and the cohorts (see docs/metrics.md).

    Raises TooManyMonths, before building anything, when the first subscription starts
    more than MAX_RECOMPUTE_MONTHS months before `today`'s month.
    """
    current = int(revenue.month_of(today))
    months_limit(subscriptions, current=current)
    matrix = revenue.mrr_matrix(subscriptions, through=current)
    # Every renewal date through this month's last, whether its day after has come or
    # not: this month's go to the terms; those before today, to the months.
    dates = revenue.renewal_dates(
        subscriptions,
        first_month=matrix.first_month,
        through=revenue.month_start(current + 1).item(),
    )
    this_months = dates[dates["month"] == current]
    if matrix.mrr.size == 0:
        return Computed(pd.DataFrame(), [], revenue.account_terms(matrix), this_months)
    months = revenue.monthly_revenue(matrix)
    months["clv"] = revenue.simple_clv(months, gross_margin=gross_margin)
    past = dates[dates["on"].to_numpy(dtype="datetime64[D]") < np.datetime64(today, "D")]
    renewed = revenue.renewals_by_month(past, matrix.first_month)
    renewed = renewed.reindex(months.index, fill_value=0)
    for column in renewed.columns:
        months[column] = renewed[column].to_numpy()
    months["renewal_rate"] = revenue.ratio(months["renewals_renewed"], months["renewals_due"])
    months["renewal_mrr_rate"] = revenue.ratio(
        months["renewals_renewed_mrr"], months["renewals_due_mrr"]
    )
    found = (
        cohort_metrics.cohorts(
            matrix,
            subscriptions,
            last_complete_month=current - 1,
            gross_margin=gross_margin,
            annual_discount_rate=annual_discount_rate,
        )
        if with_cohorts
        else []
    )
    return Computed(months, found, revenue.account_terms(matrix), this_months)


def months_limit(subscriptions: pd.DataFrame, *, current: int) -> None:
    """Raise TooManyMonths when the history from the first subscription's
    month through month `current` (months since 1970-01) is longer than
    MAX_RECOMPUTE_MONTHS."""
    if subscriptions.empty:
        return
    first = subscriptions["started_on"].min()
    months = current - int(revenue.month_of(first)) + 1
    if months <= MAX_RECOMPUTE_MONTHS:
        return
    message = (
        f"Not recomputed: the first subscription starts in {first.year:04d}-{first.month:02d}, "
        f"{months} months "
        f"ago, and a recompute builds at most {MAX_RECOMPUTE_MONTHS}. An operator corrects "
        "the subscriptions started before 2000 (docs/operations.md, Memory)."
    )
    raise TooManyMonths(message)


def metrics_mark_stale(*, since: date, accounts: Iterable[int] | None = None) -> None:
    """Note that metrics from month(`since`) on are stale, because of changes to the
    subscriptions of `accounts` (None: unknown), and have them recomputed shortly after
    the current transaction commits (debounced)."""
    organization = current_organization()
    # A renewal on the day before `since` is judged by `since` itself: its month too.
    first_day = (since - timedelta(days=1)).replace(day=1)
    changed = None if accounts is None else sorted(set(accounts))
    if changed is not None and len(changed) > MAX_CHANGED_ACCOUNTS:
        changed = None
    with connection.cursor() as cursor:
        # The changed accounts add up until a recompute clears them; unknown (null)
        # stays unknown. Both SET expressions read the row as it was.
        cursor.execute(
            "INSERT INTO metrics_metricsstate AS s (organization_id, dirty_since, "
            "dirty_accounts) VALUES (%s, %s, %s) ON CONFLICT (organization_id) DO UPDATE SET "
            "dirty_since = least(coalesce(s.dirty_since, EXCLUDED.dirty_since), "
            "EXCLUDED.dirty_since), "
            "dirty_accounts = CASE WHEN s.dirty_since IS NULL THEN EXCLUDED.dirty_accounts "
            "WHEN s.dirty_accounts IS NULL OR EXCLUDED.dirty_accounts IS NULL "
            "OR cardinality(s.dirty_accounts) + cardinality(EXCLUDED.dirty_accounts) > %s "
            "THEN NULL ELSE s.dirty_accounts || EXCLUDED.dirty_accounts END",
            [organization.pk, first_day, changed, MAX_CHANGED_ACCOUNTS],
        )
    from metrics.tasks import recompute_metrics

    enqueue_debounced(
        recompute_metrics, organization.pk, delay=settings.METRICS_RECOMPUTE_DELAY_SECONDS
    )


# No savepoint of its own: it runs as a task's whole transaction (tenant_context), and
# an error inside aborts that transaction all the same; two round trips saved.
def satisfaction_mark_stale() -> None:
    """Have the satisfaction metrics recomputed shortly after the current transaction
    commits (debounced): a response was recorded, edited or withdrawn."""
    from metrics.tasks import recompute_satisfaction

    enqueue_debounced(
        recompute_satisfaction,
        current_organization().pk,
        delay=settings.METRICS_RECOMPUTE_DELAY_SECONDS,
    )


def health_mark_stale() -> None:
    """Have the health snapshot (and the playbooks after it) recomputed shortly after
    the current transaction commits (debounced): usage, touchpoints, responses or
    revenue changed."""
    from metrics.tasks import recompute_health

    enqueue_debounced(
        recompute_health,
        current_organization().pk,
        delay=settings.METRICS_RECOMPUTE_DELAY_SECONDS,
    )


@transaction.atomic(savepoint=False)
def metrics_recompute(*, full: bool = False, today: date | None = None) -> RecomputeResult:
    """Recompute the current organization's stored metrics.

    Incremental (the default) recomputes from the first stale month and does nothing
    when nothing is stale, unless nothing was ever computed. `full` replaces all.
    """
    organization = current_organization()
    organization_lock(LOCK)
    state, _created = MetricsState.objects.select_for_update().get_or_create()
    since = None if full or state.computed_at is None else state.dirty_since
    if not full and state.computed_at is not None and since is None:
        return RecomputeResult(skipped=True)
    today = today or organization_today(organization)
    current = int(revenue.month_of(today))
    this_month = revenue.month_start(current).item()
    now = timezone.now()
    changed = set(state.dirty_accounts or ())
    if (
        since == this_month
        and state.terms_month == this_month
        and state.dirty_accounts is not None
        and terms.month_recompute_for_accounts(
            sorted(changed),
            today=today,
            gross_margin=float(organization.gross_margin),
            now=now,
            max_changed=MAX_CHANGED_ACCOUNTS,
        )
    ):
        # The statement also marked the metrics computed.
        return RecomputeResult(months=1, since=since, accounts=len(changed))
    since_month = None if since is None else int(revenue.month_of(since))
    # Cohorts read complete months only: a change within the current month leaves them be.
    with_cohorts = since_month is None or since_month < current
    try:
        computed = compute(
            subscriptions_frame(),
            today=today,
            gross_margin=float(organization.gross_margin),
            annual_discount_rate=float(organization.annual_discount_rate),
            with_cohorts=with_cohorts,
        )
    except TooManyMonths as refused:
        # The stored results and the stale mark stay as they were (the transaction rolls
        # back); the outbox's delivery cap stops the retries (docs/operations.md).
        logger.error("metrics of organization %s: %s", organization.pk, refused)
        raise
    months = computed.months
    if since_month is not None and not months.empty:
        months = months[months.index >= since_month]
        MonthlyMetrics.objects.filter(month__gte=since).delete()
    else:
        MonthlyMetrics.objects.all().delete()
    _insert(MonthlyMetrics, _month_rows(months, now))
    if with_cohorts:
        CohortMetrics.objects.all().delete()
        _insert(CohortMetrics, [_cohort_row(c, now) for c in computed.cohorts])
    terms.terms_replace(this_month, computed.terms, computed.renewal_dates)
    state.terms_month = this_month
    _mark_computed(state, now, full=since is None)
    return RecomputeResult(
        months=len(months), cohorts=len(computed.cohorts) if with_cohorts else 0, since=since
    )


@dataclass(frozen=True)
class EverythingResult:
    usage_events: int  # waiting usage events rolled up first
    revenue: RecomputeResult
    satisfaction: int  # rows stored
    health: HealthResult
    todos: list[int]  # the tasks the playbooks opened (their emails queued on commit)


@transaction.atomic(savepoint=False)
def metrics_recompute_everything(*, full: bool = True) -> EverythingResult:
    """Bring every stored metric of the current organization up to date, in order:
    the usage events still waiting for the daily rollups (health reads the rollups),
    revenue (`full`, or from the first stale month), satisfaction, today's health
    snapshot, then the playbooks on it, whose new tasks are emailed to their assignees
    once the transaction commits (through the outbox).

    The one path of the nightly task and of `manage.py recompute_metrics`: the same
    effects whoever runs it. Safe to run again: nothing is counted twice, and a task
    already opened is neither opened nor emailed again.
    """
    usage_events = usage_roll_up()
    try:
        with transaction.atomic():  # a savepoint: a refusal undoes the revenue step alone
            result = metrics_recompute(full=full)
    except TooManyMonths as refused:
        # Revenue stays as it was (logged by metrics_recompute); satisfaction, health and
        # the playbooks still run, so one bad history never freezes the rest.
        result = RecomputeResult(refused=str(refused))
    satisfaction = satisfaction_recompute()
    health = health_recompute()
    todos = playbooks_run_and_notify(today=health.day)  # the snapshot's day, past midnight too
    return EverythingResult(usage_events, result, satisfaction, health, todos)


def _mark_computed(state: MetricsState, now: Any, *, full: bool) -> None:
    state.dirty_since = None
    state.dirty_accounts = None
    state.computed_at = now
    if full:
        state.full_computed_at = now
    state.save()


_MONTH_FIELDS = [
    f.name
    for f in MonthlyMetrics._meta.concrete_fields
    if f.name not in ("id", "organization", "month", "computed_at")
]


def _month_rows(months: pd.DataFrame, now: Any) -> list[dict[str, Any]]:
    """One dict of column values per month: Python ints and floats, NaN as None."""
    if months.empty:
        return []
    columns: dict[str, list[Any]] = {
        "month": list(revenue.month_start(months.index.to_numpy()).astype(object))
    }
    for name in _MONTH_FIELDS:
        values = months[name].to_numpy()
        if values.dtype.kind == "f":
            columns[name] = [None if math.isnan(v) else v for v in values.tolist()]
        else:
            columns[name] = values.tolist()
    columns["computed_at"] = [now] * len(months)
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows of a tenant model for the current organization in one round trip
    (bulk_create's per-field preparation costs more than the computation here)."""
    if not rows:
        return
    fields = {f.name: f for f in model._meta.concrete_fields}
    names = list(rows[0])
    is_json = [isinstance(fields[name], models.JSONField) for name in names]
    columns = ", ".join(["organization_id", *(str(fields[name].column) for name in names)])
    holders = ", ".join(["%s", *("%s::jsonb" if j else "%s" for j in is_json)])
    organization_id = current_organization().pk
    values = [
        (
            organization_id,
            *(json.dumps(row[n]) if j else row[n] for n, j in zip(names, is_json, strict=True)),
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({holders})",  # noqa: S608 # nosec B608 # constant identifiers
            values,
        )


def _cohort_row(cohort: cohort_metrics.Cohort, now: Any) -> dict[str, Any]:
    fit = cohort.fit
    return {
        "interval": cohort.interval,
        "start": revenue.month_start(cohort.start).item(),
        "label": cohort.label,
        "size": cohort.size,
        "starting_mrr": cohort.starting_mrr,
        "survivors": cohort.survivors,
        "logo_retention": cohort.logo_retention,
        "revenue_retention": cohort.revenue_retention,
        "alpha": None if fit is None else fit.alpha,
        "beta": None if fit is None else fit.beta,
        "log_likelihood": None if fit is None else fit.log_likelihood,
        "fit_note": cohort.fit_note[:200],
        "projection": cohort.projection,
        "clv": cohort.clv,
        "clv_low": cohort.clv_low,
        "clv_high": cohort.clv_high,
        "computed_at": now,
    }


@transaction.atomic
def playbooks_default_add(*, actor: User | None) -> list[Playbook]:
    """Add the default playbooks the current organization has not got yet (see
    metrics.playbooks.playbooks_default), audited as done by `actor` when any was added.
    Returns those created."""
    created = playbooks_default()
    if created:
        audit_record(
            AuditEvent.Action.PLAYBOOK_DEFAULTS,
            actor=actor,
            details={"playbooks": [playbook.name_key for playbook in created]},
        )
    return created
