"""The revenue page: MRR and ARR, the month's movement waterfall, churn rates and
NRR/GRR, the cohort heatmap and the sBG projection, all read from stored results."""

import json
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from tests.factories import (
    CohortMetricsFactory,
    MembershipFactory,
    MonthlyMetricsFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db

# Every month gains 3,000 new + 1,500 expansion + 500 reactivation and loses 1,000
# contraction + 3,000 churn (cents): +1,000 net, so the MRR identity holds.
MOVEMENTS = {"new": 3_000, "expansion": 1_500, "reactivation": 500}
LOSSES = {"contraction": 1_000, "churn": 3_000}


def _current_month(organization):
    return organization_today(organization).replace(day=1)


def _month_before(month, n=1):
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _store_months(organization, count, *, base_mrr=100_000):
    """`count` months ending with the current one; returns them oldest first."""
    current = _current_month(organization)
    rows = []
    with tenant_context(organization):
        for i in range(count):
            mrr = base_mrr + 1_000 * i
            rows.append(
                MonthlyMetricsFactory(
                    month=_month_before(current, count - 1 - i),
                    mrr=mrr,
                    arr=12 * mrr,
                    customers=50 + i,
                    **MOVEMENTS,
                    **LOSSES,
                    new_customers=3,
                    churned_customers=2,
                    logo_churn_rate=0.04,
                    gross_mrr_churn_rate=0.04,
                    net_mrr_churn_rate=-0.01,
                    nrr=1.05 if i >= 12 else None,
                    grr=0.92 if i >= 12 else None,
                    arpa=mrr / (50 + i),
                    clv=250_000.0,
                )
            )
    return rows


def _store_cohorts(organization, count):
    current = _current_month(organization)
    with tenant_context(organization):
        for i in range(count):
            start = _month_before(current, count - i)
            CohortMetricsFactory(
                start=start,
                label=start.strftime("%Y-%m"),
                size=4,
                starting_mrr=4_000,
                survivors=[4, 3, 2],
                logo_retention=[1.0, 0.75, 0.5],
                revenue_retention=[1.0, 0.9, 1.25],
            )


def _page(client, organization, **params):
    url = reverse("dashboards:revenue", kwargs={"org_slug": organization.slug})
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def _figure(page, element_id):
    found = re.search(
        rf'<script id="{element_id}-figure" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, f"no {element_id} figure on the page"
    return json.loads(found.group(1))


def test_it_explains_what_to_do_before_anything_is_computed(team, signed_in):
    page = _page(signed_in(team.manager), team.organization)
    assert "No revenue metrics yet" in page
    assert 'class="chart"' not in page
    assert "plotly/plotly.min" not in page


def test_it_shows_mrr_and_arr_now_with_the_change_since_the_month_before(team, signed_in):
    months = _store_months(team.organization, 3)
    page = _page(signed_in(team.manager), team.organization)
    # The factory's organization is in BRL; the manager reads English.
    assert "R$1,020.00" in page  # MRR now: 100,000 + 2 × 1,000 cents
    assert "R$12,240.00" in page  # ARR
    assert "+R$10.00 (+1.0 %) vs the month before" in page
    assert "+R$120.00 vs the month before" in page
    assert "plotly/plotly.min" in page
    mrr = _figure(page, "mrr-chart")["data"][0]
    assert mrr["y"] == [m.mrr / 100 for m in months]
    assert 'href="#definition-mrr"' in page
    assert 'id="definition-mrr"' in page
    assert "#mrr-account" in page


def test_it_draws_the_latest_complete_months_waterfall_from_its_movements(team, signed_in):
    months = _store_months(team.organization, 3)
    complete = months[-2]  # the last one is the current month, still running
    page = _page(signed_in(team.manager), team.organization)
    waterfall = _figure(page, "waterfall-chart")["data"][0]
    assert waterfall["type"] == "waterfall"
    assert waterfall["measure"] == ["absolute", *["relative"] * 5, "total"]
    assert waterfall["y"] == [
        (complete.mrr - 1_000) / 100,  # starting MRR: the month before's
        complete.new / 100,
        complete.expansion / 100,
        complete.reactivation / 100,
        -complete.contraction / 100,
        -complete.churn / 100,
        complete.mrr / 100,
    ]
    assert months[-3].mrr == complete.mrr - 1_000
    movements = _figure(page, "movements-chart")["data"]
    assert [trace["y"][-1] for trace in movements] == [30.0, 15.0, 5.0, -10.0, -30.0]
    assert all(len(trace["y"]) == 3 for trace in movements)
    assert "MRR movements, " + complete.month.strftime("%B %Y") in page


def test_it_charts_churn_rates_and_nrr_as_percentages_with_a_table(team, signed_in):
    _store_months(team.organization, 14)
    page = _page(signed_in(team.manager), team.organization)
    logo, gross, net = _figure(page, "churn-chart")["data"]
    assert logo["y"][-1] == pytest.approx(4.0)
    assert gross["y"][-1] == pytest.approx(4.0)
    assert net["y"][-1] == pytest.approx(-1.0)
    nrr, grr = _figure(page, "nrr-chart")["data"]
    assert nrr["y"][0] is None  # no 12 months of history yet: null, not 0
    assert nrr["y"][-1] == pytest.approx(105.0)
    assert grr["y"][-1] == pytest.approx(92.0)
    assert '<td class="num">105.0 %</td><td class="num">92.0 %</td>' in page
    assert '<td class="num">-1.0 %</td>' in page


def test_it_switches_the_heatmap_between_logo_and_revenue_retention(team, signed_in):
    _store_months(team.organization, 3)
    _store_cohorts(team.organization, 2)
    client = signed_in(team.manager)
    logo = _figure(_page(client, team.organization), "cohort-heatmap")["data"][0]
    assert logo["type"] == "heatmap"
    assert logo["z"] == [[100.0, 75.0, 50.0]] * 2
    assert logo["x"] == [0, 1, 2]
    revenue_page = _page(client, team.organization, retention="revenue")
    revenue = _figure(revenue_page, "cohort-heatmap")["data"][0]
    assert revenue["z"] == [[100.0, 90.0, 125.0]] * 2
    assert 'aria-current="page">Revenue retention' in revenue_page
    assert '<td class="num">125 %</td>' in revenue_page  # the table says the same
    odd = _figure(_page(client, team.organization, retention="junk"), "cohort-heatmap")
    assert odd["data"][0]["z"] == logo["z"]


def test_it_projects_clv_with_its_band_and_interval(team, signed_in):
    _store_months(team.organization, 3)
    projection = [
        {"period": 3 + i, "survival": 0.4 - 0.02 * i, "low": 0.3 - 0.02 * i, "high": 0.5}
        for i in range(12)
    ]
    with tenant_context(team.organization):
        CohortMetricsFactory(
            start=date(2025, 1, 1),
            label="2025-01",
            size=10,
            survivors=[10, 8, 6],
            logo_retention=[1.0, 0.8, 0.6],
            revenue_retention=[1.0, 0.8, 0.6],
            alpha=0.7,
            beta=1.2,
            projection=projection,
            clv=123_456.0,
            clv_low=100_000.0,
            clv_high=150_000.0,
        )
        CohortMetricsFactory(start=date(2025, 6, 1), label="2025-06", fit_note="few periods")
    page = _page(signed_in(team.manager), team.organization)
    high, low, projected, observed = _figure(page, "projection-chart")["data"]
    assert low["fill"] == "tonexty"
    assert high["y"] == [50.0] * 12
    assert low["y"][0] == pytest.approx(30.0)
    assert projected["x"] == list(range(2, 15))  # from the last observed period on
    assert projected["y"][1] == pytest.approx(40.0)
    assert observed["y"] == [100.0, 80.0, 60.0]
    assert "R$1,234.56" in page
    assert "90 % interval R$1,000.00 – R$1,500.00" in page
    assert "1 other cohort is not projected" in page
    assert 'id="definition-sbg"' in page


def test_it_formats_money_and_dates_for_a_portuguese_reader(team, signed_in):
    reader = MembershipFactory(
        organization=team.organization, role=Role.MANAGER, user__language="pt-br"
    ).user
    _store_months(team.organization, 3, base_mrr=123_456_700)
    page = _page(signed_in(reader), team.organization)
    assert "R$\u00a01.234.587,00" in page  # 123,456,700 + 2 × 1,000 cents


def test_it_reads_a_constant_number_of_queries_whatever_the_history(team, signed_in):
    client = signed_in(team.manager)
    _store_months(team.organization, 3)
    _store_cohorts(team.organization, 2)
    _page(client, team.organization)  # warm the session
    with CaptureQueriesContext(connection) as small:
        _page(client, team.organization)
    other = OrganizationFactory()
    manager = MembershipFactory(organization=other, role=Role.MANAGER).user
    _store_months(other, 36)
    _store_cohorts(other, 30)
    client = signed_in(manager)
    _page(client, other)
    with CaptureQueriesContext(connection) as large:
        page = _page(client, other)
    assert len(_figure(page, "mrr-chart")["data"][0]["y"]) == 36
    assert len(large) == len(small), [q["sql"] for q in large]
    metrics_queries = [q["sql"] for q in large if '"metrics_' in q["sql"]]
    assert len(metrics_queries) == 2  # the months and the cohorts, one query each


def test_it_never_shows_another_organizations_metrics(team, signed_in):
    other = OrganizationFactory()
    _store_months(other, 3, base_mrr=987_600)
    _store_cohorts(other, 1)
    client = signed_in(team.manager)
    assert "No revenue metrics yet" in _page(client, team.organization)
    _store_months(team.organization, 2)
    page = _page(client, team.organization)
    assert "9,876" not in page
    assert "9,896" not in page
    assert len(_figure(page, "mrr-chart")["data"][0]["y"]) == 2
    assert "cohort-heatmap" not in page


def test_it_projects_the_latest_cohort_with_a_band_unless_another_is_chosen(team, signed_in):
    _store_months(team.organization, 3)
    fitted = {
        "size": 10,
        "survivors": [10, 9, 8],
        "logo_retention": [1.0, 0.9, 0.8],
        "revenue_retention": [1.0, 0.9, 0.8],
        "alpha": 1.0,
        "beta": 9.0,
        "clv": 50_000.0,
    }
    with tenant_context(team.organization):
        banded = CohortMetricsFactory(
            start=date(2025, 1, 1),
            label="2025-01",
            projection=[{"period": 3, "survival": 0.7, "low": 0.6, "high": 0.8}],
            clv_low=40_000.0,
            clv_high=60_000.0,
            **fitted,
        )
        flat = CohortMetricsFactory(
            start=date(2025, 2, 1),
            label="2025-02",
            projection=[{"period": 3, "survival": 0.7, "low": None, "high": None}],
            **fitted,
        )
    client = signed_in(team.manager)
    default = _page(client, team.organization)
    assert "Projected retention of cohort 2025-01" in default
    assert len(_figure(default, "projection-chart")["data"]) == 4  # with the band
    chosen = _page(client, team.organization, cohort=flat.pk)
    assert "Projected retention of cohort 2025-02" in chosen
    assert len(_figure(chosen, "projection-chart")["data"]) == 2  # no band to draw
    assert f"cohort={banded.pk}#lifetime-value" in chosen
