"""The CS manager's workspace (dashboards:home): accounts at risk with the reason,
renewals, tasks due, recent detractors and the health mix, mine or everyone's."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from metrics.models import AccountHealth
from tests.factories import (
    AccountFactory,
    AccountHealthFactory,
    ContactFactory,
    OrganizationFactory,
    ResponseFactory,
    SubscriptionFactory,
    TodoFactory,
)
from tests.portfolio_data import bulk_portfolio

pytestmark = pytest.mark.django_db


def _url(team, query=""):
    return reverse("dashboards:home", kwargs={"org_slug": team.organization.slug}) + query


def _section(html, section_id):
    """The HTML of one block of the page."""
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, flags=re.S)
    assert match, f"no #{section_id} block"
    return match.group(0)


def _snapshot(account, day, score, band, **values):
    return AccountHealth.objects.create(
        account=account,
        day=day,
        score=score,
        band=band,
        **values,
        contributions={k: v / 2 for k, v in values.items()},
    )


@pytest.fixture
def today(team):
    return organization_today(team.organization)


@pytest.fixture
def mine(team, today):
    """The manager's account and another member's, both with a subscription."""
    with tenant_context(team.organization):
        mine = AccountFactory(name="Padaria Aurora", owner=team.manager)
        theirs = AccountFactory(name="Cedar Labs", owner=team.admin)
        SubscriptionFactory(account=mine, started_on=date(2025, 1, 1))
        SubscriptionFactory(account=theirs, started_on=date(2025, 1, 1))
    return mine, theirs


def test_it_shows_an_empty_state_for_an_organization_without_accounts(team, signed_in):
    html = signed_in(team.manager).get(_url(team)).content.decode()
    assert "No customer accounts yet" in html
    assert 'id="at-risk"' not in html


def test_it_shows_useful_empty_blocks_for_an_account_without_data(team, signed_in, mine):
    html = signed_in(team.manager).get(_url(team)).content.decode()
    assert "No health scores yet" in _section(html, "at-risk")
    assert "No quarterly or yearly contract renews" in _section(html, "renewals")
    assert "Nothing due for you this week." in _section(html, "tasks-due")
    assert "No negative survey answer" in _section(html, "detractors")
    assert "after the first health scores" in _section(html, "mix-over-time")
    assert "plotly.min" not in html


def test_it_shows_my_accounts_at_risk_with_what_dropped(team, signed_in, mine, today):
    account, theirs = mine
    with tenant_context(team.organization):
        _snapshot(account, today - timedelta(days=7), 55.0, "neutral", engagement=60.0,
                  satisfaction=50.0)  # fmt: skip
        _snapshot(account, today, 30.0, "at_risk", engagement=58.0, satisfaction=2.0)
        _snapshot(theirs, today, 20.0, "at_risk", engagement=20.0)
    html = _section(signed_in(team.manager).get(_url(team)).content.decode(), "at-risk")
    assert "Padaria Aurora" in html
    assert "Cedar Labs" not in html
    assert "Satisfaction: -24.0 points since" in html
    assert '<details class="definition">' in html


def test_it_names_the_weakest_component_when_nothing_dropped(team, signed_in, mine, today):
    account, _theirs = mine
    with tenant_context(team.organization):
        _snapshot(account, today, 30.0, "at_risk", engagement=45.0, satisfaction=15.0)
    html = _section(signed_in(team.manager).get(_url(team)).content.decode(), "at-risk")
    assert "Lowest: Satisfaction at 15" in html


def test_it_shows_everyones_accounts_with_the_toggle(team, signed_in, mine, today):
    account, theirs = mine
    with tenant_context(team.organization):
        _snapshot(account, today, 30.0, "at_risk", engagement=30.0)
        _snapshot(theirs, today, 20.0, "at_risk", engagement=20.0)
    client = signed_in(team.manager)
    html = client.get(_url(team, "?owner=all")).content.decode()
    at_risk = _section(html, "at-risk")
    assert at_risk.index("Cedar Labs") < at_risk.index("Padaria Aurora")  # lowest first
    assert 'href="' + _url(team, "?owner=all") + '" aria-current="page"' in html
    mine_only = client.get(_url(team)).content.decode()
    assert 'href="' + _url(team) + '" aria-current="page"' in mine_only


def test_it_links_to_all_at_risk_accounts_beyond_the_first_ten(team, signed_in, today):
    with tenant_context(team.organization):
        for n in range(12):
            _snapshot(
                AccountFactory(name=f"Risky {n:02d}", owner=team.manager),
                today,
                20.0 + n,
                "at_risk",
                engagement=20.0,
            )
    html = _section(signed_in(team.manager).get(_url(team)).content.decode(), "at-risk")
    assert html.count("Risky ") == 10
    assert "See all 12 at risk" in html
    assert "?owner=me&amp;band=at_risk&amp;sort=score" in html


def test_it_lists_renewals_in_the_next_90_days_with_their_mrr(team, signed_in, today):
    with tenant_context(team.organization):
        soon = AccountFactory(name="Renews Soon", owner=team.manager)
        later = AccountFactory(name="Renews Later", owner=team.manager)
        far = AccountFactory(name="Renews Next Year", owner=team.manager)
        monthly = AccountFactory(name="Monthly Plan", owner=team.manager)
        theirs = AccountFactory(name="Not Mine", owner=team.admin)
        SubscriptionFactory(
            account=soon,
            billing_interval="quarter",
            amount_cents=90_000,
            started_on=today - timedelta(days=80),
        )
        SubscriptionFactory(
            account=later,
            billing_interval="year",
            amount_cents=1_200_000,
            started_on=today - timedelta(days=300),
        )
        SubscriptionFactory(
            account=far, billing_interval="year", started_on=today - timedelta(days=100)
        )
        SubscriptionFactory(account=monthly, started_on=today - timedelta(days=80))
        SubscriptionFactory(
            account=theirs, billing_interval="quarter", started_on=today - timedelta(days=80)
        )
    html = _section(signed_in(team.manager).get(_url(team)).content.decode(), "renewals")
    assert html.index("Renews Soon") < html.index("Renews Later")
    assert "Renews Next Year" not in html
    assert "Monthly Plan" not in html
    assert "Not Mine" not in html
    assert "300.00" in html
    assert "1,000.00" in html
    assert "2 renewals" in html
    assert "1,300.00" in html
    assert "How is this computed?" in html


def test_it_lists_my_tasks_due_within_a_week_or_overdue(team, signed_in, mine, today):
    account, _theirs = mine
    with tenant_context(team.organization):
        TodoFactory(account=account, assignee=team.manager, title="Overdue call",
                    due_on=today - timedelta(days=2))  # fmt: skip
        TodoFactory(account=account, assignee=team.manager, title="Due Friday",
                    due_on=today + timedelta(days=5), reason="Renewal on 2026-03-01")  # fmt: skip
        TodoFactory(account=account, assignee=team.manager, title="Next month",
                    due_on=today + timedelta(days=30))  # fmt: skip
        TodoFactory(account=account, assignee=team.manager, title="Already done",
                    due_on=today, status="done")  # fmt: skip
        TodoFactory(account=account, assignee=team.manager, title="Snoozed one",
                    due_on=today, snoozed_until=today + timedelta(days=3))  # fmt: skip
        TodoFactory(account=account, assignee=team.admin, title="Someone else's",
                    due_on=today)  # fmt: skip
    client = signed_in(team.manager)
    html = _section(client.get(_url(team)).content.decode(), "tasks-due")
    assert html.index("Overdue call") < html.index("Due Friday")
    assert "Overdue</span>" in html
    assert "Renewal on 2026-03-01" in html
    for hidden in ("Next month", "Already done", "Snoozed one", "Someone else"):
        assert hidden not in html
    tasks_url = reverse("todos:list", kwargs={"org_slug": team.organization.slug})
    assert f"{tasks_url}?status=open&amp;assignee=me" in html
    everyone = _section(client.get(_url(team, "?owner=all")).content.decode(), "tasks-due")
    assert "Someone else&#x27;s" in everyone


def test_it_lists_recent_detractors_with_their_comment_escaped(team, signed_in, mine):
    account, theirs = mine
    now = timezone.now()
    with tenant_context(team.organization):
        contact = ContactFactory(account=account, name="Ana Souza")
        ResponseFactory(invitation__contact=contact, kind="nps", score=3,
                        comment="<script>alert('x')</script> Too slow")  # fmt: skip
        ResponseFactory(invitation__contact=contact, kind="csat", score=2, comment="Meh",
                        responded_at=now - timedelta(days=3))  # fmt: skip
        ResponseFactory(invitation__contact=contact, kind="nps", score=9, comment="Love it")
        ResponseFactory(invitation__contact=contact, kind="csat", score=4, comment="Fine")
        ResponseFactory(invitation__contact=contact, kind="nps", score=1, comment="Old news",
                        responded_at=now - timedelta(days=40))  # fmt: skip
        other = ContactFactory(account=theirs)
        ResponseFactory(invitation__contact=other, kind="nps", score=0, comment="Not mine")
    html = _section(signed_in(team.manager).get(_url(team)).content.decode(), "detractors")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Too slow" in html
    assert "<script>" not in html
    assert html.index("Too slow") < html.index("Meh")  # latest first
    assert "Ana Souza" in html
    assert "Padaria Aurora" in html
    for hidden in ("Love it", "Fine", "Old news", "Not mine"):
        assert hidden not in html


def test_it_charts_the_health_mix_over_time(team, signed_in, mine, today):
    account, theirs = mine
    with tenant_context(team.organization):
        for day in (today - timedelta(days=1), today):
            AccountHealthFactory(account=account, day=day, band="healthy")
            AccountHealthFactory(account=theirs, day=day, score=20.0, band="at_risk")
    client = signed_in(team.manager)
    page = client.get(_url(team, "?owner=all")).content.decode()
    html = _section(page, "mix-over-time")
    assert 'class="chart" id="health-mix"' in html
    assert re.search(r'<script src="/static/plotly/plotly\.min(\.\w+)?\.js" defer>', page)
    assert "?band=at_risk" in html
    assert 'id="health-definition"' in html
    mine_only = _section(client.get(_url(team)).content.decode(), "mix-over-time")
    assert '<span class="badge badge-at_risk">At risk</span> 0' in mine_only


def test_it_waits_for_two_days_before_charting_the_mix(team, signed_in, mine, today):
    account, _theirs = mine
    with tenant_context(team.organization):
        AccountHealthFactory(account=account, day=today, band="healthy")
    page = signed_in(team.manager).get(_url(team)).content.decode()
    assert "two days of scores" in _section(page, "mix-over-time")
    assert "plotly.min" not in page


def test_it_never_shows_another_organizations_data(team, signed_in, mine, today):
    other = OrganizationFactory()
    with tenant_context(other):
        bulk_portfolio(other, count=3, owner=team.manager)  # even one owned by this user
    html = signed_in(team.manager).get(_url(team, "?owner=all")).content.decode()
    assert "Bulk account" not in html
    assert "Call 0" not in html
    assert "Too slow" not in html


def _queries(client, url):
    client.get(url)  # warm: the session and the first-request work
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("query", ["", "?owner=all"])
def test_it_runs_the_same_number_of_queries_for_10_and_1000_accounts(team, signed_in, query):
    organization = team.organization
    client = signed_in(team.manager)
    with tenant_context(organization):
        bulk_portfolio(organization, count=10, owner=team.manager)
    few, html = _queries(client, _url(team, query))
    for block in ("at-risk", "renewals", "tasks-due", "detractors"):
        assert "Bulk account" in _section(html, block) or "Call " in _section(html, block)
    with tenant_context(organization):
        bulk_portfolio(organization, count=990, owner=team.manager, start=10)
    many, html = _queries(client, _url(team, query))
    assert many == few
    assert "See all 334 at risk" in html
    print(f"workspace{query}: {few} queries")
