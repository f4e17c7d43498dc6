"""The health history computed after the fact (metrics.health.backfill; docs/metrics.md,
Health history): which days, with which data, never over a real snapshot, one
organization at a time, with its progress, and what the pruning keeps."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache

from accounts.audit import audit_import
from csplatform.models import OutboxMessage
from csplatform.tenancy import tenant_context
from metrics.health.backfill import (
    NIGHTLY_DEFER_SECONDS,
    NIGHTLY_KEY,
    backfill_days,
    health_backfill_day,
    health_backfill_now,
    health_backfill_progress,
    health_backfill_request,
    health_backfill_step,
    nightly_finished,
    nightly_running,
    nightly_started,
)
from metrics.health.model import Model, health_model, health_model_update
from metrics.health.store import health_recompute
from metrics.models import AccountHealth, AdoptionMetrics, BackfillReason, HealthBackfill
from metrics.services import subscriptions_frame
from metrics.tasks import backfill_health, recompute_metrics_full
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DailyUsageFactory,
    OrganizationFactory,
    SubscriptionFactory,
)

TODAY = date(2026, 11, 24)  # a Tuesday


def _noon(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def org(db):
    return OrganizationFactory(time_zone="UTC")


@pytest.fixture
def loaded(org, time_machine):
    """Two customers since January 2025 with a contact each and usage on the last 20 days,
    loaded on TODAY (the onboarding day), the clock at TODAY's noon."""
    time_machine.move_to(_noon(TODAY), tick=False)
    with tenant_context(org):
        accounts = []
        for name in ("Busy", "Quiet"):
            account = AccountFactory(name=name)
            SubscriptionFactory(account=account, amount_cents=10_000, started_on=date(2025, 1, 1))
            ContactFactory(account=account)
            accounts.append(account)
        for offset in range(20):
            DailyUsageFactory(account=accounts[0], day=TODAY - timedelta(days=offset), events=4)
    return accounts


def test_it_computes_every_day_of_90_then_mondays_and_month_edges_for_a_year():
    days = backfill_days(TODAY)
    assert days[0] == TODAY - timedelta(days=1)
    assert days == sorted(days, reverse=True)
    assert days[:90] == [TODAY - timedelta(days=n) for n in range(1, 91)]
    older = days[90:]
    assert all(d.weekday() == 0 or d.day == 1 or (d + timedelta(days=1)).day == 1 for d in older)
    assert min(days) >= TODAY - timedelta(days=365)
    mondays = [d for d in older if d.weekday() == 0]
    assert len(mondays) == 40  # every Monday from a year ago (2025-11-24) to 91 days ago
    edges = {d for d in older if d.day == 1 or (d + timedelta(days=1)).day == 1}
    assert date(2025, 12, 1) in edges
    assert date(2026, 8, 24) not in edges
    assert date(2026, 8, 24) in older  # a Monday
    assert date(2026, 8, 25) not in older  # a Tuesday inside a month


def test_it_scores_a_past_day_as_the_nightly_job_did_that_day(org, loaded, time_machine):
    day = TODAY  # the nightly job scores the data loaded on the day; the backfill, later
    with tenant_context(org):
        health_recompute(today=day)
        nightly = {
            h.account_id: (h.score, h.band, h.engagement, h.contributions)
            for h in AccountHealth.objects.filter(day=day)
        }
        AccountHealth.objects.filter(day=day).delete()
        AdoptionMetrics.objects.filter(day=day).delete()
    time_machine.move_to(_noon(TODAY + timedelta(days=5)), tick=False)
    with tenant_context(org):
        stored = health_backfill_day(
            day,
            subscriptions=subscriptions_frame(),
            model=Model.of(health_model()),
            at=_noon(TODAY),
        )
        rows = list(AccountHealth.objects.filter(day=day))
    assert stored
    assert len(nightly) == 2
    assert {h.account_id: (h.score, h.band, h.engagement, h.contributions) for h in rows} == nightly
    assert {h.backfilled_at for h in rows} == {_noon(TODAY)}


def test_it_never_replaces_a_days_own_snapshot(org, loaded, time_machine):
    busy, _quiet = loaded
    day = TODAY - timedelta(days=2)
    with tenant_context(org):
        AccountHealth.objects.create(account=busy, day=day, score=12.5, band="at_risk")
        result = health_backfill_now(org.pk)
        rows = list(AccountHealth.objects.filter(day=day))
        backfilled = AccountHealth.objects.filter(backfilled_at__isnull=False)
        assert backfilled.filter(day=TODAY - timedelta(days=1)).count() == 2
    assert [(r.account_id, r.score, r.backfilled_at) for r in rows] == [(busy.pk, 12.5, None)]
    assert result.days == len(backfill_days(TODAY))
    assert result.stored == result.days - 1


def test_it_uses_only_what_was_known_on_the_day(org, loaded, time_machine):
    busy, quiet = loaded
    day = TODAY - timedelta(days=30)
    with tenant_context(org):
        later = AccountFactory(name="Signed later")
        SubscriptionFactory(account=later, amount_cents=5_000, started_on=day + timedelta(days=1))
        # Quiet's cancellation was recorded after the day: on the day it was a customer
        # with no end known.
        quiet_subscription = quiet.subscriptions.get()
        quiet_subscription.ended_on = day + timedelta(days=10)
        quiet_subscription.save()
        health_backfill_day(
            day,
            subscriptions=subscriptions_frame(),
            model=Model.of(health_model()),
            at=_noon(TODAY),
        )
        scored = set(AccountHealth.objects.filter(day=day).values_list("account_id", flat=True))
    assert scored == {busy.pk, quiet.pk}


def test_it_backfills_one_organization_only(org, loaded):
    other = OrganizationFactory(time_zone="UTC")
    with tenant_context(other):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2026, 1, 1))
    health_backfill_now(org.pk)
    with tenant_context(other):
        assert not AccountHealth.objects.exists()
        assert not HealthBackfill.objects.exists()
    with tenant_context(org):
        assert AccountHealth.objects.exists()


def test_it_records_its_progress_day_by_day(org, loaded):
    with tenant_context(org):
        backfill = health_backfill_request(reason=BackfillReason.REQUESTED)
        total = backfill.days_total
        assert health_backfill_step(backfill.generation, 0)
        assert health_backfill_step(backfill.generation, 1)
        assert not health_backfill_step(backfill.generation, 1)  # a copy of a step done
        progress = health_backfill_progress()
    assert total == len(backfill_days(TODAY))
    assert (progress.done, progress.total, progress.running) == (2, total, True)


def test_it_requests_the_history_when_data_is_first_loaded(org, loaded):
    with tenant_context(org):
        assert health_backfill_progress() is None
        health_recompute(today=TODAY)
        first = HealthBackfill.objects.get()
        health_recompute(today=TODAY)
        again = HealthBackfill.objects.get()
    assert (first.reason, first.generation, first.through) == ("data_loaded", 1, TODAY)
    assert again.generation == 1  # once: not on every recompute


def test_it_recomputes_the_history_when_a_file_is_imported_later(org, loaded):
    """Onboarding loads accounts first and their history after: each completed import
    computes the history again (a new generation); before any history, it waits for the
    first recompute with customers."""
    with tenant_context(org):
        audit_import(actor=None, kind="usage", filename="a.csv", source="command", rows=1)
        assert not HealthBackfill.objects.exists()
        health_backfill_now(org.pk)
        audit_import(actor=None, kind="usage", filename="b.csv", source="command", rows=1)
        backfill = HealthBackfill.objects.get()
        # A refused file changes nothing.
        audit_import(actor=None, kind="usage", filename="c.csv", source="page", problems=3)
        unchanged = HealthBackfill.objects.get()
    assert (backfill.reason, backfill.generation, backfill.days_done) == ("data_loaded", 2, 0)
    assert unchanged.generation == 2


def test_it_queues_no_worker_when_the_command_computes_the_history_itself(
    org, loaded, django_capture_on_commit_callbacks
):
    with tenant_context(org), django_capture_on_commit_callbacks() as callbacks:
        health_backfill_now(org.pk)
        queued = OutboxMessage.objects.filter(task="metrics.tasks.backfill_health").count()
    assert (queued, len(callbacks)) == (0, 0)


def test_it_recomputes_the_history_when_the_health_model_changes(org, loaded):
    with tenant_context(org):
        health_backfill_now(org.pk)
        day = TODAY - timedelta(days=1)
        before = dict(AccountHealth.objects.filter(day=day).values_list("account_id", "score"))
        health_model_update(model=Model(weights={"engagement": 1}), by=None)
        backfill = HealthBackfill.objects.get()
        assert (backfill.reason, backfill.generation, backfill.days_done) == ("model_changed", 2, 0)
        # The queued run of the earlier generation stops; the new one replaces the rows.
        assert not health_backfill_step(1, 0)
        health_backfill_step(2, 0)
        after = dict(AccountHealth.objects.filter(day=day).values_list("account_id", "score"))
    assert before != after
    _busy, quiet = loaded
    assert after[quiet.pk] == 0.0  # engagement only: no usage at all


def test_it_keeps_exactly_the_backfilled_days_when_pruning(org, loaded, time_machine):
    busy, _quiet = loaded
    with tenant_context(org):
        health_backfill_now(org.pk)
        kept = set(AccountHealth.objects.values_list("day", flat=True))
        stale = [date(2025, 9, 9), TODAY - timedelta(days=91)]  # a Tuesday a year+ ago; day 91
        for day in stale:
            AccountHealth.objects.create(account=busy, day=day, score=50, band="neutral")
        health_recompute(today=TODAY)
        after = set(AccountHealth.objects.values_list("day", flat=True))
    assert kept == set(backfill_days(TODAY))
    assert after == kept | {TODAY}


@pytest.fixture
def no_nightly_sweep():
    """No nightly sweep counted in the shared cache, before and after the test."""
    cache.delete(NIGHTLY_KEY)
    yield
    cache.delete(NIGHTLY_KEY)


def test_it_counts_the_nightly_sweeps_organizations_down_as_they_end(org, no_nightly_sweep):
    assert not nightly_running()
    nightly_finished()  # a recompute outside a sweep counts nothing
    nightly_started(2)
    assert nightly_running()
    with tenant_context(org):
        AccountFactory()
    recompute_metrics_full.apply(args=[org.pk]).get()  # the nightly task of one of them
    assert nightly_running()
    nightly_finished()
    assert not nightly_running()


def test_it_waits_for_the_nightly_sweep_before_computing_a_day(org, loaded, no_nightly_sweep):
    """While the sweep's organizations are queued or running, a backfill day does not
    take the worker from them: it is queued again a minute later, then runs."""
    with tenant_context(org):
        backfill = health_backfill_request(reason=BackfillReason.REQUESTED, enqueue=False)
    nightly_started(1)
    result = backfill_health.apply(args=[org.pk, backfill.generation, 0]).get()
    with tenant_context(org):
        assert result["deferred"]
        assert not AccountHealth.objects.exists()
        assert HealthBackfill.objects.get().days_done == 0
        again = OutboxMessage.objects.get(task="metrics.tasks.backfill_health")
    assert again.args == [backfill.generation, 0]
    assert again.run_after >= _noon(TODAY) + timedelta(seconds=NIGHTLY_DEFER_SECONDS)
    nightly_finished()
    result = backfill_health.apply(args=[org.pk, backfill.generation, 0]).get()
    with tenant_context(org):
        assert not result.get("deferred")
        assert AccountHealth.objects.filter(backfilled_at__isnull=False).exists()
        assert HealthBackfill.objects.get().days_done == 1


@pytest.mark.django_db(transaction=True)
def test_it_backfills_the_history_on_a_real_worker(celery_worker_process, no_nightly_sweep):
    organization = OrganizationFactory(time_zone="UTC")
    with tenant_context(organization):
        account = AccountFactory()
        SubscriptionFactory(account=account, started_on=date(2024, 1, 1))
        health_recompute()  # the first snapshot with customers asks for the history
    deadline = time.monotonic() + 120
    progress = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        with tenant_context(organization):
            progress = health_backfill_progress()
        if progress is not None and not progress.running:
            break
    assert progress is not None
    assert not progress.running
    assert progress.done == progress.total > 90
    with tenant_context(organization):
        backfilled = AccountHealth.objects.filter(backfilled_at__isnull=False).count()
    assert backfilled == progress.total


def test_it_explains_what_moved_against_the_real_previous_week_from_day_one(org, loaded):
    from metrics.health_selectors import account_health

    busy, _quiet = loaded
    with tenant_context(org):
        health_recompute(today=TODAY)
        health_backfill_now(org.pk)
        view = account_health(account_id=busy.pk)
    assert view.now.day == TODAY
    assert view.now.backfilled_at is None
    assert view.before.day == TODAY - timedelta(days=7)
    assert view.before.backfilled_at is not None


def test_it_gives_the_executive_page_both_periods_health_mix_from_day_one(org, loaded):
    from dashboards.executive import Period, health_mixes_compared

    with tenant_context(org):
        health_backfill_now(org.pk)
        october, september = health_mixes_compared(
            Period("month", date(2026, 10, 1)), Period("month", date(2026, 9, 1)), today=TODAY
        )
    assert (october.day, september.day) == (date(2026, 10, 31), date(2026, 9, 30))
    assert october.total == september.total == 2


def test_it_backfills_from_the_command_with_progress(org, loaded):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("recompute_metrics", "--org", org.slug, "--backfill-health", stdout=out)
    total = len(backfill_days(TODAY))
    assert f"health history 10 of {total} days" in out.getvalue()
    assert f"health history of {total} day(s), 0 kept as recorded" in out.getvalue()
    with tenant_context(org):
        assert AccountHealth.objects.filter(backfilled_at__isnull=False).count() == 2 * total
        assert AccountHealth.objects.filter(day=TODAY, backfilled_at__isnull=True).count() == 2
