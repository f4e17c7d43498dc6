"""Stored metrics: recomputed whole or from the stale month, atomically, by Celery and by hand."""

import json
import time
from datetime import date, datetime
from datetime import time as time_of_day
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from accounts.customers import accounts_upsert, subscriptions_upsert
from bench import demo
from csplatform.tasks import debounce_release
from csplatform.tenancy import tenant_context
from journeys.ingest import events_ingest
from journeys.rollups import usage_pending
from metrics import services
from metrics.health.backfill import nightly_running
from metrics.models import (
    AccountHealth,
    CohortMetrics,
    HealthBackfill,
    MetricsState,
    MonthlyMetrics,
)
from metrics.tasks import recompute_metrics, recompute_metrics_sweep
from tests.factories import OrganizationFactory, subscription_row

TODAY = date(2026, 11, 24)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # the factories' organizations' time zone
pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    organization = OrganizationFactory(slug="acme", currency="BRL")
    with tenant_context(organization):
        accounts_upsert([{"external_id": f"a{i}", "name": f"A{i}"} for i in range(1, 4)])
        subscriptions_upsert(
            [
                subscription_row("s1", "a1", 10_000, date(2026, 1, 10)),
                subscription_row("s2", "a2", 20_000, date(2026, 2, 1), date(2026, 6, 1)),
                subscription_row("s3", "a3", 120_000, date(2026, 3, 5), interval="year"),
            ]
        )
    return organization


def _months(organization):
    with tenant_context(organization):
        return {
            m.month.strftime("%Y-%m"): m for m in MonthlyMetrics.objects.order_by("month").all()
        }


def test_it_marks_metrics_stale_from_the_month_a_subscription_change_touches(org):
    with tenant_context(org):
        assert MetricsState.objects.get().dirty_since == date(2026, 1, 1)
        services.metrics_recompute(today=TODAY)
        assert MetricsState.objects.get().dirty_since is None
        subscriptions_upsert(
            [subscription_row("s1", "a1", 10_000, date(2026, 1, 10), date(2026, 9, 15))]
        )
        assert MetricsState.objects.get().dirty_since == date(2026, 9, 1)


def test_it_stores_every_month_and_cohort_on_a_full_recompute(org):
    with tenant_context(org):
        result = services.metrics_recompute(full=True, today=TODAY)
    months = _months(org)
    assert result.months == len(months) == 11  # January to November 2026
    assert (months["2026-03"].mrr, months["2026-03"].customers) == (40_000, 3)
    assert months["2026-06"].churn == 20_000
    with tenant_context(org):
        assert {c.label for c in CohortMetrics.objects.all()} == {"2026-01", "2026-02", "2026"}


def test_it_replaces_only_the_stale_months_on_an_incremental_recompute(org):
    with tenant_context(org):
        services.metrics_recompute(full=True, today=TODAY)
    before = _months(org)
    with tenant_context(org):
        subscriptions_upsert(
            [subscription_row("s1", "a1", 10_000, date(2026, 1, 10), date(2026, 9, 15))]
        )
        result = services.metrics_recompute(today=TODAY)
    after = _months(org)
    assert result.since == date(2026, 9, 1)
    assert result.months == 3  # September to November
    assert after["2026-08"].computed_at == before["2026-08"].computed_at
    assert after["2026-09"].computed_at > before["2026-09"].computed_at
    assert (after["2026-09"].churn, after["2026-09"].mrr) == (10_000, 10_000)


def test_it_rejudges_last_months_renewal_when_a_subscription_starts_on_the_first():
    organization = OrganizationFactory()
    today = date(2026, 3, 10)
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
        subscriptions_upsert(
            [subscription_row("s1", "a1", 10_000, date(2025, 12, 31), date(2026, 1, 31))]
        )
        services.metrics_recompute(full=True, today=today)
        january = MonthlyMetrics.objects.get(month=date(2026, 1, 1))
        assert (january.renewals_due, january.renewals_renewed) == (1, 0)
        subscriptions_upsert([subscription_row("s2", "a1", 10_000, date(2026, 2, 1))])
        assert MetricsState.objects.get().dirty_since == date(2026, 1, 1)
        services.metrics_recompute(today=today)
        january = MonthlyMetrics.objects.get(month=date(2026, 1, 1))
        assert (january.renewals_due, january.renewals_renewed) == (1, 1)


def test_it_gives_the_same_results_when_a_full_recompute_runs_twice(org):
    def stored():
        with tenant_context(org):
            months = list(MonthlyMetrics.objects.order_by("month").values())
            cohorts = list(CohortMetrics.objects.order_by("interval", "start").values())
        for row in months + cohorts:
            for key in ("id", "computed_at"):
                row.pop(key)
        return months, cohorts

    with tenant_context(org):
        services.metrics_recompute(full=True, today=TODAY)
    first = stored()
    with tenant_context(org):
        services.metrics_recompute(full=True, today=TODAY)
    assert stored() == first
    assert first[0]
    assert first[1]


def test_it_does_nothing_when_nothing_is_stale(org):
    with tenant_context(org):
        services.metrics_recompute(today=TODAY)
        assert services.metrics_recompute(today=TODAY).skipped


@transaction.atomic
def _recompute_then_die(organization):
    with tenant_context(organization):
        services.metrics_recompute(full=True, today=TODAY)
        assert not MonthlyMetrics.objects.filter(month__lt=date(2026, 1, 1)).exists()
        raise RuntimeError("the worker was killed")


def test_it_keeps_the_previous_results_and_the_stale_mark_when_killed_halfway(org):
    with tenant_context(org):
        services.metrics_recompute(full=True, today=TODAY)
        subscriptions_upsert([subscription_row("s4", "a1", 5_000, date(2026, 10, 1))])
    before = {k: (m.mrr, m.computed_at) for k, m in _months(org).items()}
    with pytest.raises(RuntimeError, match="killed"):
        _recompute_then_die(org)
    assert {k: (m.mrr, m.computed_at) for k, m in _months(org).items()} == before
    with tenant_context(org):
        # Stale from September: a renewal on 30 September is judged by 1 October.
        assert MetricsState.objects.get().dirty_since == date(2026, 9, 1)


def test_it_prints_the_documented_json(org):
    call_command("recompute_metrics", "--org", "acme", "--full", stdout=StringIO())
    out = StringIO()
    call_command(
        "metrics", "--org", "acme", "--from", "2026-02", "--to", "2026-06", "--json", stdout=out
    )
    document = json.loads(out.getvalue())
    months = document["months"]
    assert [m["month"] for m in months] == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    required = {
        "month", "mrr", "customers", "new", "expansion", "contraction", "churn",
        "reactivation", "new_customers", "churned_customers", "reactivated_customers",
        "logo_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr",
        "arpa", "quick_ratio",
    }  # fmt: skip
    assert required <= set(months[0])
    june = months[-1]
    assert (june["mrr"], june["churn"], june["churned_customers"]) == (20_000, 20_000, 1)
    assert june["logo_churn_rate"] == pytest.approx(1 / 3)
    assert june["nrr"] is None  # no year of history
    cohort = document["cohorts"][0]
    assert {"cohort", "interval", "size", "survivors", "alpha", "beta"} <= set(cohort)


def test_it_computes_metrics_on_first_ask_when_none_are_stored(org):
    out, err = StringIO(), StringIO()
    call_command("metrics", "--org", "acme", "--json", stdout=out, stderr=err)
    assert "computing them" in err.getvalue()
    assert json.loads(out.getvalue())["months"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope", "--json"], "No organization has the slug 'nope'"),
        (["--org", "acme", "--from", "March", "--json"], "use YYYY-MM"),
        (["--org", "acme", "--from", "2026-05", "--to", "2026-01"], "--from is after --to"),
    ],
)
def test_it_explains_bad_arguments_to_the_metrics_command(org, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("metrics", *args, stdout=StringIO())


def test_it_recomputes_every_organization_with_progress(org, time_machine):
    # The command counts the months up to the organization's today: pin it to TODAY.
    time_machine.move_to(datetime.combine(TODAY, time_of_day(12), SAO_PAULO), tick=False)
    OrganizationFactory(slug="empty-co")
    out = StringIO()
    call_command("recompute_metrics", "--all", stdout=out)
    assert "[1/2] acme: 11 month(s) all months" in out.getvalue()
    assert "[2/2] empty-co: 0 month(s)" in out.getvalue()
    with pytest.raises(CommandError, match="create_org"):
        call_command("recompute_metrics", "--org", "nope", stdout=StringIO())


def test_it_rolls_up_waiting_usage_events_before_scoring_health_by_hand(org, time_machine):
    # Events imported with no worker running wait in the roll-up queue; health reads the
    # rollups, so a recompute that skipped the queue scored health with no engagement.
    noon = datetime.combine(TODAY, time_of_day(12), SAO_PAULO)
    time_machine.move_to(noon, tick=False)
    with tenant_context(org):
        events_ingest(
            [
                {
                    "account_external_id": "a1",
                    "name": "report.generated",
                    "occurred_at": noon.replace(day=TODAY.day - day),
                    "external_id": f"e{day}",
                }
                for day in (1, 2, 3)
            ]
        )
        assert usage_pending() == 3
    call_command("recompute_metrics", "--org", "acme", stdout=StringIO())
    with tenant_context(org):
        assert usage_pending() == 0
        health = AccountHealth.objects.get(day=TODAY, account__external_id="a1")
    assert (health.active_days, health.features_used) == (3, 1)
    assert health.engagement is not None


def test_it_gives_demo_metrics_that_satisfy_the_identity_and_definitions():
    organization = OrganizationFactory(slug="demo-metrics", currency="BRL")
    with tenant_context(organization):
        demo.generate(
            organization_id=organization.pk,
            index=1,
            seed=3,
            scale=demo.Scale(organizations=1, accounts=200, events=2_000, months=14),
            owner_ids=[],
            today=TODAY,
        )
    out = StringIO()
    call_command("metrics", "--org", "demo-metrics", "--json", stdout=out, stderr=StringIO())
    document = json.loads(out.getvalue())
    months = document["months"]
    assert len(months) >= 14
    previous = {"mrr": 0, "customers": 0}
    kinds = ("new", "expansion", "contraction", "churn", "reactivation")
    for month in months:
        assert all(month[k] >= 0 for k in kinds)
        assert month["mrr"] == (
            previous["mrr"]
            + month["new"]
            + month["reactivation"]
            + month["expansion"]
            - month["contraction"]
            - month["churn"]
        )
        if previous["customers"]:
            assert month["logo_churn_rate"] == pytest.approx(
                month["churned_customers"] / previous["customers"]
            )
        # The customers at M−1 a quarter's logo churn weights each month by.
        assert previous["customers"] == (
            month["customers"]
            - month["new_customers"]
            - month["reactivated_customers"]
            + month["churned_customers"]
        )
        if month["customers"]:
            assert month["arpa"] == pytest.approx(month["mrr"] / month["customers"])
        previous = month
    assert sum(m["churn"] for m in months) > 0
    assert sum(m["expansion"] for m in months) > 0
    assert any(c["alpha"] is not None for c in document["cohorts"])


@pytest.mark.django_db(transaction=True)
def test_it_recomputes_on_a_real_worker_after_subscriptions_change(celery_worker_process, settings):
    settings.METRICS_RECOMPUTE_DELAY_SECONDS = 0
    organization = OrganizationFactory()
    debounce_release(recompute_metrics, organization.pk)
    with tenant_context(organization):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
        subscriptions_upsert([subscription_row("s1", "a1", 10_000, date(2026, 1, 10))])

    deadline = time.monotonic() + 30
    stored = 0
    while time.monotonic() < deadline and not stored:
        time.sleep(0.2)
        with tenant_context(organization):
            stored = MonthlyMetrics.objects.filter(month=date(2026, 1, 1), mrr=10_000).count()
    assert stored == 1
    with tenant_context(organization):
        assert MetricsState.objects.get().dirty_since is None


@pytest.mark.django_db(transaction=True)
def test_it_recomputes_every_active_organization_in_the_nightly_sweep(celery_worker_process):
    organizations = [OrganizationFactory() for _ in range(2)]
    for organization in organizations:
        with tenant_context(organization):
            accounts_upsert([{"external_id": "a1", "name": "Acme"}])
            subscriptions_upsert([subscription_row("s1", "a1", 10_000, date(2026, 1, 10))])
            # Its history is computed already: the worker runs the sweep only, not a
            # year of backfill steps still going when the test's database is emptied.
            HealthBackfill.objects.create(
                reason="data_loaded", through=date(2026, 1, 10), requested_at=timezone.now()
            )
    OrganizationFactory(is_active=False)

    assert recompute_metrics_sweep.delay().get(timeout=30) == 2

    def computed(organization):
        with tenant_context(organization):
            return MetricsState.objects.filter(full_computed_at__isnull=False).exists()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(computed(o) for o in organizations):
        time.sleep(0.2)
    assert all(computed(o) for o in organizations)
    # Each organization's nightly task counted itself off: backfills may go on.
    while time.monotonic() < deadline and nightly_running():
        time.sleep(0.2)
    assert not nightly_running()
