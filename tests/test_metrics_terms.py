"""The incremental recompute from the changed accounts' terms gives the month the whole
history gives (metrics.terms)."""

import math
from datetime import date, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.customers import accounts_upsert, subscriptions_upsert
from accounts.models import Subscription
from csplatform.tenancy import tenant_context
from metrics import services
from metrics.models import MetricsState, MonthlyMetrics, MonthTerms
from metrics.selectors import MONTH_KEYS
from tests.factories import OrganizationFactory, subscription_row

SUMS = [
    "sum_previous_mrr",
    "previous_customers",
    "sum_base_mrr",
    "sum_retained_mrr",
    "sum_kept_mrr",
    "due_by_day",
    "renewed_by_day",
    "due_mrr_by_day",
    "renewed_mrr_by_day",
]
TODAY = date(2026, 11, 24)
THIS_MONTH = date(2026, 11, 1)
ACCOUNTS = [f"a{i}" for i in range(6)]
pytestmark = pytest.mark.django_db


def _stored():
    """Every stored month (rates rounded to 12 significant digits: a mean of six churn
    rates may differ in its last bit between pandas and Postgres), and the terms."""

    def value(v):
        return float(f"{v:.12g}") if isinstance(v, float) and not math.isnan(v) else v

    months = {
        row["month"]: {k: value(v) for k, v in row.items()}
        for row in MonthlyMetrics.objects.values("month", *MONTH_KEYS)
    }
    stored = MonthTerms.objects.get()
    # The terms in effect: those from the whole history, the changed accounts' instead.
    terms = {
        row[0]: row[1:]
        for row in zip(
            stored.account_ids,
            stored.mrr,
            stored.previous_mrr,
            stored.base_mrr,
            stored.was_customer,
            strict=True,
        )
    }
    assert len(terms) == len(stored.account_ids)  # one element per account
    changed = set(stored.changed_account_ids)
    for row in zip(
        stored.changed_account_ids,
        stored.changed_mrr,
        stored.changed_previous_mrr,
        stored.changed_base_mrr,
        stored.changed_was_customer,
        strict=True,
    ):
        terms[row[0]] = row[1:]
    terms = {a: t for a, t in terms.items() if any(t[:3])}  # zeros add nothing
    dates = sorted(
        d
        for d in zip(
            stored.renewal_account_ids,
            stored.renewal_on,
            stored.renewal_mrr,
            stored.renewal_renewed,
            strict=True,
        )
        if d[0] not in changed
    ) + sorted(
        zip(
            stored.changed_renewal_account_ids,
            stored.changed_renewal_on,
            stored.changed_renewal_mrr,
            stored.changed_renewal_renewed,
            strict=True,
        )
    )
    sums = [getattr(stored, f) for f in SUMS]
    return months, stored.month, terms, sorted(dates), sums


day = st.dates(date(2024, 6, 1), date(2026, 11, 30))
amount = st.sampled_from([0, 1_000, 9_900, 12_006, 30_000, 120_018, 250_000])
interval = st.sampled_from(["month", "quarter", "year"])
history = st.lists(
    st.tuples(st.sampled_from(ACCOUNTS), amount, interval, day, st.none() | day),
    max_size=14,
)
# A change within this month after its first day: a new subscription (of a known
# account or a new one) or the end of an open one (its index among the open ones).
change = st.one_of(
    st.tuples(
        st.just("start"),
        st.sampled_from([*ACCOUNTS, "new1", "new2"]),
        amount,
        interval,
        st.dates(date(2026, 11, 2), date(2026, 11, 30)),
    ),
    st.tuples(st.just("end"), st.integers(0, 20), st.dates(date(2026, 11, 2), date(2026, 11, 30))),
)


def _history_rows(history):
    rows = []
    for n, (account, cents, every, started, ended) in enumerate(history):
        if ended is not None and ended < started:
            started, ended = ended, started
        rows.append(subscription_row(f"h{n}", account, cents, started, ended, every))
    return rows


def _apply(changes, prefix):
    rows = []
    open_ones = list(Subscription.objects.filter(ended_on__isnull=True).order_by("external_id"))
    ended = set()
    for n, item in enumerate(changes):
        if item[0] == "start":
            _kind, account, cents, every, started = item
            rows.append(subscription_row(f"{prefix}{n}", account, cents, started, None, every))
        elif open_ones:
            _kind, which, ending = item
            known = open_ones[which % len(open_ones)]
            if known.pk in ended:
                continue
            ended.add(known.pk)
            rows.append(
                {
                    **subscription_row(
                        known.external_id,
                        known.account.external_id,
                        known.amount_cents,
                        known.started_on,
                        max(ending, known.started_on),
                        known.billing_interval,
                    )
                }
            )
    if rows:
        subscriptions_upsert(rows)
    return rows


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history,
    st.lists(st.lists(change, min_size=1, max_size=5), min_size=1, max_size=3),
    st.integers(0, 6),
)
def test_it_rebuilds_this_month_from_the_changed_accounts_as_the_whole_history_would(
    history, rounds, days_later
):
    organization = OrganizationFactory(currency="BRL")
    later = TODAY + timedelta(days=days_later)  # renewal dates come due as days pass
    with tenant_context(organization):
        accounts_upsert([{"external_id": a, "name": a} for a in [*ACCOUNTS, "new1", "new2"]])
        if history:
            subscriptions_upsert(_history_rows(history))
        services.metrics_recompute(full=True, today=TODAY)
        had_row = MonthlyMetrics.objects.filter(month=THIS_MONTH).exists()
        results = []
        for n, changes in enumerate(rounds):  # each round of changes, then its recompute
            if _apply(changes, prefix=f"r{n}-"):
                assert MetricsState.objects.get().dirty_since == THIS_MONTH
                results.append(services.metrics_recompute(today=later))
        if not results:
            return
        incremental = _stored()
        services.metrics_recompute(full=True, today=later)
        assert _stored() == incremental
    # The terms path runs whenever this month already had a row.
    assert [r.accounts > 0 for r in results] == [had_row] + [True] * (len(results) - 1)


@pytest.fixture
def org():
    organization = OrganizationFactory(currency="BRL")
    with tenant_context(organization):
        accounts_upsert([{"external_id": a, "name": a} for a in ACCOUNTS])
        subscriptions_upsert(
            [
                subscription_row("s0", "a0", 10_000, date(2025, 10, 10)),
                subscription_row("s1", "a1", 20_000, date(2025, 11, 1), date(2026, 6, 1)),
                subscription_row("s2", "a2", 120_000, date(2026, 3, 5), interval="year"),
                subscription_row("s3", "a3", 5_000, date(2026, 8, 20)),
            ]
        )
        services.metrics_recompute(full=True, today=TODAY)
    return organization


def test_it_reads_only_the_changed_accounts_for_a_change_within_this_month(org):
    with tenant_context(org):
        subscriptions_upsert(
            [
                subscription_row("s3", "a3", 5_000, date(2026, 8, 20), date(2026, 11, 20)),
                subscription_row("s3b", "a3", 15_000, date(2026, 11, 20)),
                subscription_row("s4", "a4", 7_000, date(2026, 11, 3)),
            ]
        )
        result = services.metrics_recompute(today=TODAY)
        month = MonthlyMetrics.objects.get(month=THIS_MONTH)
        assert MetricsState.objects.get().dirty_accounts is None
    assert (result.accounts, result.months, result.since) == (2, 1, THIS_MONTH)
    assert (month.mrr, month.customers) == (10_000 + 10_000 + 15_000 + 7_000, 4)
    assert (month.expansion, month.new, month.new_customers) == (10_000, 7_000, 1)


def test_it_runs_a_constant_number_of_queries_however_many_accounts_changed(
    org, django_assert_max_num_queries
):
    with tenant_context(org):
        accounts_upsert([{"external_id": f"n{i}", "name": f"N{i}"} for i in range(40)])
        subscriptions_upsert(
            [subscription_row(f"n{i}", f"n{i}", 1_000 + i, date(2026, 11, 2)) for i in range(40)]
        )
        with django_assert_max_num_queries(3):  # the lock, the state, the month
            result = services.metrics_recompute(today=TODAY)
        assert MonthlyMetrics.objects.get(month=THIS_MONTH).new_customers == 40
    assert result.accounts == 40


def test_it_reads_the_whole_history_when_a_change_reaches_before_this_month(org):
    with tenant_context(org):
        subscriptions_upsert([subscription_row("s4", "a4", 7_000, date(2026, 11, 1))])
        result = services.metrics_recompute(today=TODAY)
    # A start on the 1st judges October's last-day renewals: October is stale too.
    assert (result.accounts, result.since) == (0, date(2026, 10, 1))


def test_it_reads_the_whole_history_once_the_month_has_turned(org):
    december = date(2026, 12, 3)
    with tenant_context(org):
        subscriptions_upsert([subscription_row("s4", "a4", 7_000, date(2026, 12, 2))])
        result = services.metrics_recompute(today=december)
        incremental = _stored()
        assert MetricsState.objects.get().terms_month == date(2026, 12, 1)
        services.metrics_recompute(full=True, today=december)
        assert _stored() == incremental
    assert result.accounts == 0


def test_it_computes_this_months_first_row_from_the_whole_history():
    organization = OrganizationFactory(currency="BRL")
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a0", "name": "A0"}])
        services.metrics_recompute(full=True, today=TODAY)  # nothing yet
        subscriptions_upsert([subscription_row("s0", "a0", 3_000, date(2026, 11, 5))])
        result = services.metrics_recompute(today=TODAY)
        month = MonthlyMetrics.objects.get()
    assert result.accounts == 0
    assert (month.month, month.mrr, month.new_customers) == (THIS_MONTH, 3_000, 1)


def test_it_forgets_which_accounts_changed_once_they_are_too_many_or_unknown(org, monkeypatch):
    monkeypatch.setattr(services, "MAX_CHANGED_ACCOUNTS", 3)
    with tenant_context(org):
        state = MetricsState.objects
        services.metrics_mark_stale(since=date(2026, 11, 5), accounts=[1, 2])
        assert state.get().dirty_accounts == [1, 2]
        services.metrics_mark_stale(since=date(2026, 11, 6), accounts=[3])
        assert state.get().dirty_accounts == [1, 2, 3]
        services.metrics_mark_stale(since=date(2026, 11, 6), accounts=[4])
        assert state.get().dirty_accounts is None
        services.metrics_mark_stale(since=date(2026, 11, 6), accounts=[5])
        assert state.get().dirty_accounts is None  # still unknown until a recompute
        services.metrics_recompute(today=TODAY)
        services.metrics_mark_stale(since=date(2026, 11, 6), accounts=None)
        assert state.get().dirty_accounts is None
        assert state.get().dirty_since == THIS_MONTH


@pytest.mark.parametrize(
    ("ended_on", "renewed"),
    [(date(2026, 11, 15), 0), (date(2026, 11, 16), 0), (date(2026, 11, 17), 1)],
)
def test_it_judges_a_renewal_by_the_day_after_it_from_the_changed_accounts(org, ended_on, renewed):
    with tenant_context(org):
        # s0 renews on 10 November, s3 on the 20th, and s4 on the 15th.
        subscriptions_upsert([subscription_row("s4", "a4", 8_000, date(2026, 10, 15))])
        services.metrics_recompute(full=True, today=TODAY)
        subscriptions_upsert(
            [subscription_row("s4", "a4", 8_000, date(2026, 10, 15), ended_on=ended_on)]
        )
        result = services.metrics_recompute(today=TODAY)
        month = MonthlyMetrics.objects.get(month=THIS_MONTH)
        incremental = _stored()
        services.metrics_recompute(full=True, today=TODAY)
        assert _stored() == incremental
    assert result.accounts == 1
    assert (month.renewals_due, month.renewals_renewed) == (3, 2 + renewed)
    assert month.renewals_renewed_mrr == 10_000 + 5_000 + 8_000 * renewed


def test_it_reads_the_whole_history_once_too_many_accounts_changed_since_it_last_did(
    org, monkeypatch
):
    monkeypatch.setattr(services, "MAX_CHANGED_ACCOUNTS", 3)
    with tenant_context(org):
        subscriptions_upsert([subscription_row("s4", "a4", 7_000, date(2026, 11, 3))])
        first = services.metrics_recompute(today=TODAY)
        subscriptions_upsert(
            [
                subscription_row("s5", "a5", 2_000, date(2026, 11, 4)),
                subscription_row("s0", "a0", 10_000, date(2025, 10, 10), date(2026, 11, 4)),
            ]
        )
        second = services.metrics_recompute(today=TODAY)  # 3 changed since: 3 ≤ 3
        subscriptions_upsert([subscription_row("s3", "a3", 5_000, date(2026, 8, 20), TODAY)])
        third = services.metrics_recompute(today=TODAY)  # 4 > 3
        assert MonthTerms.objects.get().changed_account_ids == []
        month = MonthlyMetrics.objects.get(month=THIS_MONTH)
    assert [first.accounts, second.accounts, third.accounts] == [1, 2, 0]
    assert (month.mrr, month.churned_customers) == (120_000 // 12 + 7_000 + 2_000, 2)


def test_it_gives_the_same_month_without_prepared_statements(org):
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None  # as DB_PREPARED_STATEMENTS=0 sets it
    try:
        with tenant_context(org):
            subscriptions_upsert([subscription_row("s4", "a4", 7_000, date(2026, 11, 3))])
            result = services.metrics_recompute(today=TODAY)
            incremental = _stored()
            services.metrics_recompute(full=True, today=TODAY)
            assert _stored() == incremental
    finally:
        connection.connection.prepare_threshold = threshold
    assert result.accounts == 1
