"""The health pages: the portfolio by band, an account's score explained, the health
model with its preview, and the back-test."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from metrics.models import AccountHealth, HealthModel
from tests.factories import AccountFactory, OrganizationFactory, TodoFactory
from tests.roles_health import MODEL_FORM

pytestmark = pytest.mark.django_db


def _url(team, name, **kwargs):
    return reverse(f"dashboards:{name}", kwargs={"org_slug": team.organization.slug, **kwargs})


def _snapshot(account, *, day=None, score=30.0, band="at_risk", **values):
    return AccountHealth.objects.create(
        account=account,
        day=day or organization_today(),
        score=score,
        band=band,
        **values,
        contributions={k: v for k, v in values.items() if k in ("engagement", "satisfaction")},
    )


@pytest.fixture
def portfolio(team):
    with tenant_context(team.organization):
        risky = AccountFactory(name="Padaria Aurora", owner=team.manager)
        fine = AccountFactory(name="Cedar Labs")
        _snapshot(
            risky,
            day=organization_today() - timedelta(days=7),
            score=55.0,
            band="neutral",
            engagement=60.0,
            satisfaction=50.0,
        )
        _snapshot(risky, score=30.0, engagement=40.0, satisfaction=20.0, flags=[])
        _snapshot(fine, score=85.0, band="healthy", engagement=85.0, flags=["happy_unengaged"])
        TodoFactory(account=risky, title="Call about the drop")
    return risky, fine


def test_it_shows_an_empty_state_before_the_first_scores(team, signed_in):
    page = signed_in(team.manager).get(_url(team, "health")).content.decode()
    assert "No health scores yet" in page


def test_it_lists_customers_lowest_score_first_and_filters_by_band(team, signed_in, portfolio):
    client = signed_in(team.manager)
    page = client.get(_url(team, "health")).content.decode()
    assert page.index("Padaria Aurora") < page.index("Cedar Labs")
    assert "At risk · 1" in page
    assert "Healthy · 1" in page
    assert "May leave smiling" in page
    at_risk = client.get(_url(team, "health") + "?band=at_risk").content.decode()
    assert "Padaria Aurora" in at_risk
    assert "Cedar Labs" not in at_risk


def test_it_explains_an_accounts_score_and_what_moved_it(team, signed_in, portfolio):
    risky, _fine = portfolio
    page = signed_in(team.manager).get(_url(team, "account_health", account_id=risky.pk))
    html = page.content.decode()
    assert "Satisfaction: from 50 to 20" in html
    assert "Engagement: from 60 to 40" in html
    assert "-25.0 points since" in html
    assert "Call about the drop" in html


def test_it_answers_404_for_another_organizations_account(team, signed_in):
    other = OrganizationFactory()
    with tenant_context(other):
        foreign = AccountFactory()
    page = signed_in(team.owner).get(_url(team, "account_health", account_id=foreign.pk))
    assert page.status_code == 404


def test_it_previews_band_changes_without_saving(team, signed_in, portfolio):
    data = {**MODEL_FORM, "action": "preview", "weight_satisfaction": 0}
    page = signed_in(team.admin).post(_url(team, "health_model"), data, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.lstrip().startswith('<div id="band-changes"')  # the fragment alone
    assert "Preview: bands with these settings" in html
    with tenant_context(team.organization):
        assert not HealthModel.objects.filter(healthy_from=75).exists()


def test_it_saves_the_health_model(team, signed_in):
    page = signed_in(team.admin).post(_url(team, "health_model"), MODEL_FORM)
    assert page.status_code == 302
    with tenant_context(team.organization):
        stored = HealthModel.objects.get()
    assert (stored.healthy_from, stored.weights["engagement"], stored.updated_by) == (
        75,
        50,
        team.admin,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"at_risk_below": 80}, "must be lower than"),
        ({"weight_engagement": 0, "weight_satisfaction": 0}, "at least one component"),
        ({"weight_adoption": 101}, "less than or equal to 100"),
        ({"engagement_frequency": 0, "engagement_breadth": 0, "engagement_depth": 0}, "part of"),
    ],
)
def test_it_rejects_a_model_that_makes_no_sense(team, signed_in, change, message):
    page = signed_in(team.admin).post(_url(team, "health_model"), {**MODEL_FORM, **change})
    assert page.status_code == 400
    assert message in page.content.decode()
    with tenant_context(team.organization):
        assert not HealthModel.objects.filter(healthy_from=75).exists()


def test_it_shows_the_backtest_for_the_current_and_proposed_weights(team, signed_in):
    from tests.factories import DailyUsageFactory, SubscriptionFactory

    # Two customers churn 100 days before the organization's today, two stay, and are
    # active every day since 190 days back. The back-test scores on month eves whose
    # 90 days have passed: whatever the day of the month, one falls within the 90 days
    # before the churners ended, when the churners were idle and the stayers active
    # (so that month ranks perfectly: an AUC of 1.00).
    with tenant_context(team.organization):
        today = organization_today(team.organization)
        for n in range(4):
            account = AccountFactory()
            SubscriptionFactory(
                account=account,
                started_on=date(2025, 1, 1),
                ended_on=today - timedelta(days=100) if n < 2 else None,
            )
            if n >= 2:
                for offset in range(190):
                    DailyUsageFactory(account=account, day=today - timedelta(days=offset))
    client = signed_in(team.admin)
    page = client.get(_url(team, "health_backtest")).content.decode()
    assert "Current weights" in page
    assert "1.00" in page
    query = {k: v for k, v in MODEL_FORM.items() if k != "action"}
    proposed = client.get(_url(team, "health_backtest"), query).content.decode()
    assert "Proposed weights" in proposed


def test_it_says_when_there_is_no_history_to_backtest(team, signed_in):
    page = signed_in(team.admin).get(_url(team, "health_backtest")).content.decode()
    assert "Not enough history to back-test" in page


def test_it_shows_the_accounts_stage_history_with_who_moved_it(team, signed_in, portfolio):
    risky, _fine = portfolio
    client = signed_in(team.manager)
    url = _url(team, "account_health", account_id=risky.pk)
    moved = client.post(
        reverse(
            "journeys:account_stage",
            kwargs={"org_slug": team.organization.slug, "account_id": risky.pk},
        ),
        {"stage": "adoption", "next": url},
    )
    assert moved.status_code == 302
    page = client.get(url).content.decode()
    assert "Stage history, latest first" in page
    assert "<td>Adoption</td>" in page
    assert team.manager.get_full_name() in page


def test_it_shows_how_long_an_account_has_waited_for_value(team, signed_in, portfolio):
    from tests.factories import SubscriptionFactory, ValueMilestoneFactory

    risky, _fine = portfolio

    with tenant_context(team.organization):
        ValueMilestoneFactory(event_name="report.generated")
        SubscriptionFactory(account=risky, started_on=organization_today() - timedelta(days=40))
    page = signed_in(team.manager).get(_url(team, "account_health", account_id=risky.pk))
    assert "Still waiting for a value milestone, 40 days after becoming a customer." in (
        page.content.decode()
    )


def test_it_charts_the_health_mix_over_time_with_the_packaged_plotly(team, signed_in, portfolio):
    page = signed_in(team.manager).get(_url(team, "health")).content.decode()
    assert 'id="health-mix"' in page
    assert '<script id="health-mix-figure" type="application/json">' in page
    assert re.search(r'<script src="/static/plotly/plotly\.min(\.\w+)?\.js" defer>', page)


def test_it_serves_the_plotly_js_that_the_package_ships():
    from django.contrib.staticfiles import finders

    found = finders.find("plotly/plotly.min.js")
    assert found is not None
    assert found.endswith("plotly/package_data/plotly.min.js")


def test_it_shows_an_invalid_weight_in_the_preview(team, signed_in, portfolio):
    data = {**MODEL_FORM, "action": "preview", "weight_adoption": 101}
    page = signed_in(team.admin).post(_url(team, "health_model"), data, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    # htmx swaps only 2xx answers: the fragment with the field's error, not a 400 page.
    assert page.status_code == 200
    assert html.lstrip().startswith('<div id="band-changes"')
    assert "Adoption" in html
    assert "less than or equal to 100" in html
    assert "Preview: bands with these settings" not in html


def test_it_shows_the_backtest_to_managers_read_only(team, signed_in):
    client = signed_in(team.manager)
    page = client.get(_url(team, "health_backtest"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Health back-test" in html
    assert 'name="healthy_from"' not in html  # no model controls
    assert _url(team, "health_model") not in html
    proposed = client.get(_url(team, "health_backtest") + "?healthy_from=80&at_risk_below=40")
    assert proposed.status_code == 200
    assert 'name="healthy_from"' not in proposed.content.decode()
    admin = signed_in(team.admin).get(_url(team, "health_backtest")).content.decode()
    assert 'name="healthy_from"' in admin


def test_it_draws_the_accounts_score_over_time_with_the_band_thresholds(team, signed_in, portfolio):
    risky, _fine = portfolio
    with tenant_context(team.organization):
        HealthModel.objects.create(healthy_from=72, at_risk_below=35)
        _snapshot(
            risky,
            day=organization_today() - timedelta(days=3),
            score=42.0,
            band="neutral",
        )
        AccountHealth.objects.filter(account=risky).exclude(day=organization_today()).update(
            backfilled_at=datetime(2026, 11, 2, 12, tzinfo=UTC)
        )
    client = signed_in(team.manager)
    for name in ("account_health", "account"):
        html = client.get(_url(team, name, account_id=risky.pk)).content.decode()
        assert 'id="health-trend"' in html
        assert "Healthy from 72" in html
        assert "At risk below 35" in html
        assert "computed afterwards from the data loaded on 11/02/2026" in html


def test_it_shows_a_sparkline_per_account_in_one_query(team, signed_in, portfolio):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(team.manager)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(_url(team, "accounts")).content.decode()
    assert html.count('<svg class="sparkline"') == 1  # the risky account has two days
    trend_queries = [q for q in queries.captured_queries if "metrics_accounthealth" in q["sql"]]
    with tenant_context(team.organization):
        for n in range(5):
            account = AccountFactory(name=f"More {n}")
            for back in range(3):
                _snapshot(account, day=organization_today() - timedelta(days=back))
    with CaptureQueriesContext(connection) as more:
        html = client.get(_url(team, "accounts")).content.decode()
    assert html.count('<svg class="sparkline"') == 6
    assert len([q for q in more.captured_queries if "metrics_accounthealth" in q["sql"]]) == len(
        trend_queries
    )


def test_it_shows_the_health_mix_over_the_year_and_the_historys_progress(
    team, signed_in, portfolio
):
    from metrics.models import HealthBackfill

    risky, fine = portfolio
    today = organization_today(team.organization)
    with tenant_context(team.organization):
        for account in (risky, fine):
            _snapshot(account, day=today - timedelta(days=200), score=80.0, band="healthy")
        HealthBackfill.objects.create(
            reason="data_loaded",
            through=today,
            days_total=142,
            days_done=34,
            requested_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
        )
    client = signed_in(team.manager)
    for name in ("health", "home"):
        html = client.get(_url(team, name)).content.decode()
        assert "Computing history: 34 of 142 days." in html
        assert str(today - timedelta(days=200)) in html  # the mix chart goes back a year
