"""The health score, hand-computed: components, renormalization, bands, the triad, and
the stored snapshot with its contributions (METRICS.md, Health; docs/metrics.md)."""

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from csplatform.tenancy import tenant_context
from journeys.models import Sentiment
from metrics.health import scoring
from metrics.health.inputs import Inputs, customers_on
from metrics.health.model import Model
from metrics.health.scoring import (
    health_components,
    health_scores,
    percentile,
    satisfaction_points,
    triad_flags,
)
from metrics.health.store import health_recompute
from metrics.health_selectors import account_health, health_band_changes
from metrics.models import AccountHealth, AdoptionMetrics, HealthModel, TimeToValueCohort
from tests.factories import (
    AccountFactory,
    ContactFactory,
    CoreFeatureFactory,
    DailyContactUsageFactory,
    DailyFeatureUsageFactory,
    DailyUsageFactory,
    OrganizationFactory,
    ResponseFactory,
    SubscriptionFactory,
    TouchpointFactory,
    ValueMilestoneFactory,
    subscriptions_frame_of,
)

TODAY = date(2026, 11, 24)
EQUAL = {
    "engagement": 1,
    "adoption": 1,
    "satisfaction": 1,
    "revenue_trend": 1,
    "support_load": 1,
    "outcomes": 1,
    "renewal_proximity": 1,
}


def _subscriptions(rows):
    """rows: (account_id, amount_cents, interval, started_on, ended_on or None)."""
    return subscriptions_frame_of(rows)


def _inputs(customers, usage=(), satisfaction=(), negatives=(), reached=(), **extra):
    return Inputs(
        as_of=TODAY,
        customers=customers,
        usage=pd.DataFrame(
            list(usage),
            columns=[
                "account_id",
                "active_days",
                "features_used",
                "core_features_used",
                "active_contacts",
                "contacts",
            ],
        ),
        satisfaction=pd.DataFrame(list(satisfaction), columns=["account_id", "kind", "score"]),
        negatives=pd.DataFrame(list(negatives), columns=["account_id", "negatives"]),
        milestones_reached=pd.DataFrame(list(reached), columns=["account_id", "reached"]),
        feature_pairs=pd.DataFrame(columns=["account_id", "feature"]),
        core_features=extra.get("core_features", 4),
        milestones=extra.get("milestones", 2),
        touchpoints_recorded=extra.get("touchpoints_recorded", True),
    )


def test_it_finds_customers_their_trend_and_next_renewal():
    subs = _subscriptions(
        [
            (1, 10_000, "month", "2026-01-10", None),  # flat, monthly: no renewal date
            (2, 120_000, "year", "2025-03-31", None),  # renews 2027-03-31
            (3, 30_000, "quarter", "2026-05-31", None),  # renews 2026-11-30 (Aug 31, Nov 30)
            (3, 5_000, "month", "2026-10-01", None),  # an add-on since October: expansion
            (4, 10_000, "month", "2025-01-01", "2026-11-01"),  # churned: not a customer
        ]
    )
    customers = customers_on(subs, TODAY).set_index("account_id")
    assert list(customers.index) == [1, 2, 3]
    assert customers.loc[1, ["mrr", "mrr_before"]].tolist() == [10_000, 10_000]
    assert customers.loc[3, ["mrr", "mrr_before"]].tolist() == [15_000, 10_000]
    assert pd.isna(customers.loc[1, "next_renewal"])
    assert customers.loc[2, "next_renewal"] == pd.Timestamp("2027-03-31")
    assert customers.loc[3, "next_renewal"] == pd.Timestamp("2026-11-30")


def test_it_keeps_the_scoring_free_of_the_database():
    """metrics.health.scoring is frames in, frames out: it reads no database and writes
    nothing, so the back-test and these tests run it on hand-made frames; the loaders
    (inputs) and the writer (store) do the I/O."""
    source = Path(scoring.__file__).read_text()
    nodes = list(ast.walk(ast.parse(source)))
    imported = {node.module or "" for node in nodes if isinstance(node, ast.ImportFrom)}
    imported |= {
        alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names
    }
    assert not {m for m in imported if m.startswith(("django", "metrics.health.store"))}
    assert ".objects" not in source
    assert "cursor" not in source


def test_it_ranks_engagement_as_mid_rank_percentiles_with_zero_for_no_activity():
    values = pd.Series([0, 5, 5, 10])
    # 5: one below, two equal → (1 + 1) / 4; 10: three below, itself → (3 + 0.5) / 4.
    assert percentile(values).tolist() == [0.0, 50.0, 50.0, 87.5]


def test_it_maps_survey_answers_to_0_100():
    kinds = np.array(["nps", "csat", "ces", "nps"], dtype=object)
    scores = np.array([7, 4, 7, 0])
    assert satisfaction_points(kinds, scores).tolist() == [70.0, 75.0, 100.0, 0.0]


def test_it_scores_a_small_organization_by_hand():
    customers = pd.DataFrame(
        {
            "account_id": [1, 2],
            "mrr": [12_000, 8_000],
            "mrr_before": [10_000, 10_000],  # +20 %: 100; −20 %: 50
            "next_renewal": pd.to_datetime([TODAY + timedelta(days=45), None]),
        }
    )
    inputs = _inputs(
        customers,
        # account 1 beats 2 on every engagement part: percentiles 75 and 25
        usage=[(1, 20, 6, 3, 2, 2), (2, 5, 2, 1, 1, 4)],
        satisfaction=[(1, "nps", 9)],
        negatives=[(2, 2)],
        reached=[(1, 2), (2, 1)],
    )
    model = Model(weights=EQUAL, engagement_weights={"frequency": 1, "breadth": 1, "depth": 1})
    components = health_components(inputs, model)
    one, two = components.loc[1], components.loc[2]
    # engagement: depth 2/2 = 1 vs 1/4: percentiles 75 and 25 for all three parts
    assert (one["engagement"], two["engagement"]) == pytest.approx((75.0, 25.0))
    # adoption: core features ÷ threshold 2, capped: 3/2 → 100, 1/2 → 50
    assert (one["adoption"], two["adoption"]) == (100.0, 50.0)
    assert one["satisfaction"] == 90.0
    assert pd.isna(two["satisfaction"])
    assert (one["revenue_trend"], two["revenue_trend"]) == (100.0, 50.0)
    assert (one["support_load"], two["support_load"]) == (100.0, 50.0)
    assert (one["outcomes"], two["outcomes"]) == (100.0, 50.0)
    assert one["renewal_proximity"] == 50.0
    assert pd.isna(two["renewal_proximity"])

    scored = health_scores(components, model)
    # 1: (75 + 100 + 90 + 100 + 100 + 100 + 50) / 7; 2: (25 + 50 + 50 + 50 + 50) / 5
    assert scored.loc[1, "score"] == pytest.approx(615 / 7)
    assert scored.loc[2, "score"] == pytest.approx(45.0)
    assert scored.loc[2, "satisfaction_points"] != scored.loc[2, "satisfaction_points"]  # NaN
    assert scored.loc[2, "engagement_points"] == pytest.approx(5.0)
    points = scored[[c + "_points" for c in EQUAL]].sum(axis=1)
    assert points.tolist() == pytest.approx(scored["score"].tolist())
    assert scored["band"].tolist() == ["healthy", "neutral"]


def test_it_renormalizes_the_weights_over_the_components_an_account_has():
    components = pd.DataFrame(
        {
            "engagement": [80.0, 80.0],
            "adoption": [np.nan, np.nan],
            "satisfaction": [20.0, np.nan],
            "revenue_trend": [np.nan, np.nan],
            "support_load": [np.nan, np.nan],
            "outcomes": [np.nan, np.nan],
            "renewal_proximity": [np.nan, np.nan],
        },
        index=[1, 2],
    )
    model = Model(weights={"engagement": 30, "satisfaction": 10, "adoption": 60})
    scored = health_scores(components, model)
    # 1: (30·80 + 10·20) / 40 = 65; 2: engagement alone, its weight becomes 100 %.
    assert scored["score"].tolist() == [65.0, 80.0]
    assert scored.loc[1, "engagement_points"] == 60.0
    assert scored.loc[1, "satisfaction_points"] == 5.0


def test_it_gives_no_score_to_an_account_without_any_weighted_component():
    components = pd.DataFrame(
        {c: [np.nan] for c in EQUAL} | {"engagement": [50.0]}, index=[1], dtype=float
    )
    scored = health_scores(components, Model(weights={"satisfaction": 1}))
    assert scored.empty


@pytest.mark.parametrize(
    ("score", "band"),
    [(70.0, "healthy"), (69.99, "neutral"), (40.0, "neutral"), (39.99, "at_risk"), (0, "at_risk")],
)
def test_it_bands_scores_at_the_boundaries(score, band):
    assert Model(weights=EQUAL).band(np.array([score])).tolist() == [band]


def test_it_uses_the_organizations_bands():
    model = Model(weights=EQUAL, healthy_from=80, at_risk_below=50)
    assert model.band(np.array([79.0, 49.0, 80.0])).tolist() == ["neutral", "at_risk", "healthy"]


def test_it_flags_the_triad():
    components = pd.DataFrame(
        {
            "satisfaction": [90.0, 90.0, 90.0, np.nan, 90.0],
            "engagement": [20.0, 80.0, 80.0, 80.0, 20.0],
            "outcomes": [100.0, 0.0, 100.0, 0.0, np.nan],
        },
        index=[1, 2, 3, 4, 5],
    )
    flags = triad_flags(components)
    assert flags["happy_unengaged"].tolist() == [True, True, False, False, True]
    assert flags["engaged_no_results"].tolist() == [False, True, False, True, False]


# --- stored snapshots -------------------------------------------------------------------


@pytest.fixture
def org(db):
    return OrganizationFactory(time_zone="UTC")


def _at(day, hour=12):
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _customer(**kwargs):
    account = AccountFactory(**kwargs)
    SubscriptionFactory(account=account, amount_cents=10_000, started_on=date(2026, 1, 1))
    return account


@pytest.fixture
def small_portfolio(org):
    """Two customers: an active promoter that reached value, and an idle detractor."""
    with tenant_context(org):
        CoreFeatureFactory(feature="report")
        CoreFeatureFactory(feature="export")
        ValueMilestoneFactory(event_name="report")
        busy, idle = _customer(name="Busy"), _customer(name="Idle")
        AccountFactory(name="Prospect")  # no subscription: no score
        for account in (busy, idle):
            ContactFactory(account=account)
        for offset in range(10):
            day = TODAY - timedelta(days=offset)
            DailyUsageFactory(account=busy, day=day, events=5)
            DailyFeatureUsageFactory(account=busy, feature="report", day=day, events=3)
        DailyFeatureUsageFactory(account=busy, feature="export", day=TODAY, events=1)
        DailyUsageFactory(account=idle, day=TODAY - timedelta(days=40), events=1)
        DailyContactUsageFactory(
            account=busy, contact=ContactFactory(account=busy), day=TODAY, events=1
        )
        ResponseFactory(
            invitation__contact__account=busy, score=10, responded_at=_at(TODAY - timedelta(5))
        )
        ResponseFactory(
            invitation__contact__account=idle, score=3, responded_at=_at(TODAY - timedelta(2))
        )
        TouchpointFactory(account=idle, sentiment=Sentiment.NEGATIVE, occurred_at=_at(TODAY))
    return busy, idle


def test_it_stores_the_days_snapshot_with_contributions(org, small_portfolio):
    busy, idle = small_portfolio
    with tenant_context(org):
        result = health_recompute(today=TODAY)
        rows = {h.account_id: h for h in AccountHealth.objects.all()}
    assert result.accounts == 2
    assert set(rows) == {busy.pk, idle.pk}
    b, i = rows[busy.pk], rows[idle.pk]
    # busy: engagement 75 (frequency 75, breadth 75, depth: 1/2 vs 0 → 75), adoption 100,
    # satisfaction 100, support 100, outcomes 100, trend flat (75); monthly: no renewal.
    assert (b.engagement, b.adoption, b.satisfaction, b.support_load, b.outcomes) == (
        75.0,
        100.0,
        100.0,
        100.0,
        100.0,
    )
    assert b.revenue_trend == 75.0
    assert b.renewal_proximity is None
    # idle: no activity → engagement 0, adoption 0, NPS 3 → 30, one negative → 75, outcomes 0
    assert (i.engagement, i.adoption, i.satisfaction, i.support_load, i.outcomes) == (
        0.0,
        0.0,
        30.0,
        75.0,
        0.0,
    )
    # Default weights 25/15/20/15/10/10/5 over the 6 components present (weight 95).
    stored = pytest.approx  # scores are stored to 4 decimals
    assert b.score == stored((25 * 75 + 15 * 100 + 20 * 100 + 15 * 75 + 10 * 100 + 10 * 100) / 95)
    assert i.score == stored((20 * 30 + 15 * 75 + 10 * 75) / 95, abs=1e-4)
    assert sum(b.contributions.values()) == pytest.approx(b.score, abs=1e-3)
    assert set(b.contributions) == {
        "engagement",
        "adoption",
        "satisfaction",
        "revenue_trend",
        "support_load",
        "outcomes",
    }
    assert (b.band, i.band) == ("healthy", "at_risk")
    assert (b.active_days, b.features_used, b.core_features_used, b.active_contacts) == (
        10,
        2,
        2,
        1,
    )
    assert b.flags == []
    assert i.flags == []


def test_it_replaces_the_days_snapshot_when_recomputed(org, small_portfolio):
    with tenant_context(org):
        health_recompute(today=TODAY)
        health_recompute(today=TODAY)
        assert AccountHealth.objects.count() == 2


def test_it_keeps_a_month_of_daily_snapshots_and_each_first_of_month(org, small_portfolio):
    busy, _idle = small_portfolio
    with tenant_context(org):
        for day in (date(2026, 8, 1), date(2026, 8, 2), TODAY - timedelta(days=30)):
            AccountHealth.objects.create(account=busy, day=day, score=50, band="neutral")
        health_recompute(today=TODAY)
        days = set(AccountHealth.objects.values_list("day", flat=True))
    assert days == {date(2026, 8, 1), TODAY - timedelta(days=30), TODAY}


def test_it_keeps_each_months_last_day_too_for_comparisons_of_periods(org, small_portfolio):
    busy, _idle = small_portfolio
    with tenant_context(org):
        for day in (date(2026, 6, 30), date(2026, 7, 15), date(2026, 8, 31)):
            AccountHealth.objects.create(account=busy, day=day, score=50, band="neutral")
            AdoptionMetrics.objects.create(day=day, customers=1, adopted=0)
        health_recompute(today=TODAY)
        days = set(AccountHealth.objects.values_list("day", flat=True))
        adoption_days = set(AdoptionMetrics.objects.values_list("day", flat=True))
    assert days == {date(2026, 6, 30), date(2026, 8, 31), TODAY}
    assert adoption_days == {date(2026, 6, 30), date(2026, 8, 31), TODAY}


def test_it_stores_adoption_and_time_to_value(org, small_portfolio):
    with tenant_context(org):
        health_recompute(today=TODAY)
        adoption = AdoptionMetrics.objects.get(day=TODAY)
        [cohort] = TimeToValueCohort.objects.all()
    assert (adoption.customers, adoption.adopted, adoption.adoption_rate) == (2, 1, 0.5)
    assert adoption.feature_customers == {"report": 1, "export": 1}
    # Both started 2026-01-01; busy reached "report" on its first usage day, TODAY − 9.
    assert (cohort.month, cohort.customers, cohort.reached) == (date(2026, 1, 1), 2, 1)
    assert cohort.median_days == (TODAY - timedelta(days=9) - date(2026, 1, 1)).days
    assert cohort.waiting_share == 0.5


def test_it_counts_adoption_over_every_customer_whatever_the_weights(org):
    with tenant_context(org):
        HealthModel.objects.create(weights={"satisfaction": 100})
        CoreFeatureFactory(feature="report")
        CoreFeatureFactory(feature="export")
        answered, silent = _customer(name="Answered"), _customer(name="Silent")
        for account in (answered, silent):
            for feature in ("report", "export"):
                DailyFeatureUsageFactory(account=account, feature=feature, day=TODAY)
        # Only one has a survey answer, so only one has a score under these weights.
        ResponseFactory(invitation__contact__account=answered, score=9, responded_at=_at(TODAY))
        result = health_recompute(today=TODAY)
        adoption = AdoptionMetrics.objects.get(day=TODAY)
    assert result.accounts == 1
    assert (adoption.customers, adoption.adopted, adoption.adoption_rate) == (2, 2, 1.0)


def test_it_runs_a_fixed_number_of_queries_whatever_the_number_of_accounts(org):
    with tenant_context(org):
        _customer()
        # Creates the health model and asks for the history (once, the first time there
        # are customers): not counted.
        health_recompute(today=TODAY)

    def run(count):
        with tenant_context(org):
            for _ in range(count):
                account = _customer()
                DailyUsageFactory(account=account, day=TODAY)
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as queries:
                health_recompute(today=TODAY)
        return len(queries.captured_queries)

    assert run(3) == run(30)


def test_it_explains_what_moved_the_score_since_last_week(org, small_portfolio):
    _busy, idle = small_portfolio
    with tenant_context(org):
        # A week ago, under the default weights: satisfaction 90 (20) and support 100 (10).
        AccountHealth.objects.create(
            account=idle,
            day=TODAY - timedelta(days=7),
            score=(20 * 90 + 10 * 100) / 30,
            band="healthy",
            satisfaction=90,
            support_load=100,
            contributions={"satisfaction": 20 * 90 / 30, "support_load": 10 * 100 / 30},
        )
        health_recompute(today=TODAY)
        view = account_health(account_id=idle.pk)
    assert view.before.day == TODAY - timedelta(days=7)
    assert view.score_moved == pytest.approx(view.now.score - 280 / 3)
    movers = {(m.kind, m.component): m for m in view.movers}
    satisfaction = movers["value", "satisfaction"]
    assert (satisfaction.value_before, satisfaction.value) == (90, 30)
    # Its share today (20 of the 95 weighted) × its change.
    assert satisfaction.moved == pytest.approx(20 / 95 * (30 - 90), abs=1e-3)
    # Engagement, adoption, trend and outcomes were first measured this week.
    assert {c for kind, c in movers if kind == "measured"} == {
        "engagement",
        "adoption",
        "revenue_trend",
        "outcomes",
    }
    assert sum(p.moved for p in view.parts) == pytest.approx(view.score_moved, abs=1e-3)
    assert [abs(m.moved) for m in view.movers] == sorted(
        (abs(m.moved) for m in view.movers), reverse=True
    )


def test_it_previews_how_many_accounts_would_change_band(org, small_portfolio):
    with tenant_context(org):
        health_recompute(today=TODAY)
        # Satisfaction alone: busy 100 stays healthy; idle 30 stays at risk.
        same = health_band_changes(Model(weights={"satisfaction": 1}))
        # Support load alone: idle 75 becomes healthy.
        moved = health_band_changes(Model(weights={"support_load": 1}))
    assert same.loc["healthy", "healthy"] == 1
    assert same.loc["at_risk", "at_risk"] == 1
    assert moved.loc["at_risk", "healthy"] == 1
    assert int(moved.to_numpy().sum()) == 2


def test_it_creates_the_default_health_model_once(org):
    from metrics.health.model import health_model

    with tenant_context(org):
        first, second = health_model(), health_model()
        assert first.pk == second.pk
        assert HealthModel.objects.count() == 1
        assert sum(first.weights.values()) == 100


def test_it_gives_an_accounts_time_to_value_or_how_long_it_has_waited(org, small_portfolio):
    from metrics.health_selectors import account_time_to_value

    busy, idle = small_portfolio
    with tenant_context(org):
        reached = account_time_to_value(account_id=busy.pk, today=TODAY)
        waiting = account_time_to_value(account_id=idle.pk, today=TODAY)
    # Both customers since 2026-01-01; busy first generated a report on TODAY − 9.
    assert reached.reached_on == TODAY - timedelta(days=9)
    assert reached.days == (TODAY - timedelta(days=9) - date(2026, 1, 1)).days
    assert waiting.reached_on is None
    assert waiting.days == (TODAY - date(2026, 1, 1)).days


def test_it_treats_a_cancellation_on_file_as_the_renewal_except_in_hindsight():
    subs = _subscriptions([(1, 120_000, "year", "2025-03-31", "2026-12-15")])
    known = customers_on(subs, TODAY).set_index("account_id")
    assert known.loc[1, "next_renewal"] == pd.Timestamp("2026-12-15")
    # The back-test scores a past day without the end it could not know yet.
    unknown = customers_on(subs, TODAY, known_ends=False).set_index("account_id")
    assert unknown.loc[1, "next_renewal"] == pd.Timestamp("2027-03-31")


def test_it_ranks_depth_only_among_customers_that_have_contacts():
    customers = pd.DataFrame(
        {"account_id": [1, 2, 3], "mrr": [1, 1, 1], "mrr_before": [0, 0, 0]}
    ).assign(next_renewal=pd.NaT)
    inputs = _inputs(customers, usage=[(1, 5, 1, 0, 1, 2), (2, 5, 1, 0, 0, 0), (3, 5, 1, 0, 0, 0)])
    model = Model(weights=EQUAL, engagement_weights={"depth": 1})
    components = health_components(inputs, model)
    assert components.loc[1, "engagement"] == 50.0  # alone among those with contacts
    assert components.loc[[2, 3], "engagement"].isna().all()


def test_it_never_asks_for_more_core_features_than_there_are():
    customers = pd.DataFrame(
        {"account_id": [1], "mrr": [1], "mrr_before": [0], "next_renewal": [pd.NaT]}
    )
    inputs = _inputs(customers, usage=[(1, 5, 1, 1, 1, 1)], core_features=1)
    components = health_components(inputs, Model(weights=EQUAL, adoption_threshold=2))
    assert components.loc[1, "adoption"] == 100.0


def test_it_previews_customers_left_without_a_score(org, small_portfolio):
    with tenant_context(org):
        health_recompute(today=TODAY)
        # Renewal proximity alone: neither customer has a quarterly or yearly plan.
        table = health_band_changes(Model(weights={"renewal_proximity": 1}))
    assert table["none"].sum() == 2
