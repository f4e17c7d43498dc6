"""The accounts list: filters, sorting, pages, the htmx table swap, the CSV export."""

import csv
import io
import re
from datetime import date, timedelta

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from metrics.health.inputs import customers_on
from metrics.portfolio_selectors import account_portfolio
from metrics.services import subscriptions_frame
from tests.factories import (
    AccountFactory,
    AccountHealthFactory,
    LifecycleStageFactory,
    OrganizationFactory,
    SubscriptionFactory,
)
from tests.portfolio_data import bulk_portfolio

pytestmark = pytest.mark.django_db


def _url(team, name="accounts", query=""):
    return reverse(f"dashboards:{name}", kwargs={"org_slug": team.organization.slug}) + query


def _names(html):
    """The account names in the table, in order."""
    return re.findall(r'/accounts/\d+/">([^<]+)</a>', html)


@pytest.fixture
def portfolio(team):
    """Three accounts: Padaria Aurora (the manager's, at risk, monthly R$ 500),
    Cedar Labs (the admin's, healthy and happy but unengaged, yearly R$ 1,000 a month,
    renewing in about 65 days) and Zebra Co (nobody's, no score, quarterly R$ 300 a
    month, renewing in about 10 days)."""
    organization = team.organization
    today = organization_today(organization)
    with tenant_context(organization):
        LifecycleStageFactory(key="onboarding", name_en="Onboarding", position=1)
        LifecycleStageFactory(key="adoption", name_en="Adoption", position=2)
        aurora = AccountFactory(
            name="Padaria Aurora", owner=team.manager, segment="SMB", lifecycle_stage="onboarding"
        )
        cedar = AccountFactory(
            name="Cedar Labs", owner=team.admin, segment="Enterprise", lifecycle_stage="adoption"
        )
        zebra = AccountFactory(name="Zebra Co", segment="SMB", lifecycle_stage="")
        SubscriptionFactory(account=aurora, amount_cents=50_000, started_on=date(2025, 1, 1))
        SubscriptionFactory(
            account=cedar,
            amount_cents=1_200_000,
            billing_interval="year",
            started_on=today - timedelta(days=300),
        )
        SubscriptionFactory(
            account=zebra,
            amount_cents=90_000,
            billing_interval="quarter",
            started_on=today - timedelta(days=80),
        )
        AccountHealthFactory(account=aurora, day=today, score=30.0, band="at_risk")
        AccountHealthFactory(
            account=cedar, day=today, score=85.0, band="healthy", flags=["happy_unengaged"]
        )
    return {"aurora": aurora, "cedar": cedar, "zebra": zebra}


def test_it_shows_an_empty_state_without_accounts(team, signed_in):
    html = signed_in(team.manager).get(_url(team)).content.decode()
    assert "No customer accounts yet" in html
    assert "<table" not in html


def test_it_lists_accounts_with_their_owner_mrr_health_and_renewal(team, signed_in, portfolio):
    html = signed_in(team.manager).get(_url(team)).content.decode()
    assert _names(html) == ["Cedar Labs", "Padaria Aurora", "Zebra Co"]
    assert "3 accounts" in html
    assert team.manager.get_full_name() in html
    assert "Onboarding" in html
    assert "500.00" in html
    assert "1,000.00" in html
    assert "300.00" in html
    assert 'badge-at_risk">At risk' in html
    assert "May leave smiling" in html
    assert "No score" in html
    assert '<details class="definition"' in html
    aurora = portfolio["aurora"]
    assert (
        reverse(
            "dashboards:account",
            kwargs={"org_slug": team.organization.slug, "account_id": aurora.pk},
        )
        in html
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?owner=me", ["Padaria Aurora"]),
        ("?owner=none", ["Zebra Co"]),
        ("?segment=SMB", ["Padaria Aurora", "Zebra Co"]),
        ("?stage=adoption", ["Cedar Labs"]),
        ("?stage=none", ["Zebra Co"]),
        ("?band=at_risk", ["Padaria Aurora"]),
        ("?band=healthy", ["Cedar Labs"]),
        ("?band=none", ["Zebra Co"]),
        ("?renewal=30", ["Zebra Co"]),
        ("?renewal=90", ["Cedar Labs", "Zebra Co"]),
        ("?flag=happy_unengaged", ["Cedar Labs"]),
        ("?flag=engaged_no_results", []),
        ("?segment=SMB&band=at_risk&owner=me", ["Padaria Aurora"]),
    ],
)
def test_it_filters(team, signed_in, portfolio, query, expected):
    html = signed_in(team.manager).get(_url(team, query=query)).content.decode()
    assert _names(html) == expected
    if not expected:
        assert "No account matches these filters." in html


def test_it_offers_renewal_windows_up_to_a_year_for_annual_contracts(team, signed_in):
    """An annual contract is planned months ahead: 180 and 365 days are windows too."""
    today = organization_today(team.organization)
    with tenant_context(team.organization):
        account = AccountFactory(name="Ipê Annual")
        SubscriptionFactory(
            account=account,
            amount_cents=2_400_000,
            billing_interval="year",
            started_on=today - timedelta(days=200),  # renews in 165 days
        )
    client = signed_in(team.manager)
    html = client.get(_url(team)).content.decode()
    for days in (30, 60, 90, 120, 180, 365):
        assert f'<option value="{days}">In the next {days} days</option>' in html
    assert _names(client.get(_url(team, query="?renewal=120")).content.decode()) == []
    assert _names(client.get(_url(team, query="?renewal=180")).content.decode()) == ["Ipê Annual"]
    assert _names(client.get(_url(team, query="?renewal=365")).content.decode()) == ["Ipê Annual"]


def test_it_filters_by_a_members_id(team, signed_in, portfolio):
    html = signed_in(team.manager).get(_url(team, query=f"?owner={team.admin.pk}")).content
    assert _names(html.decode()) == ["Cedar Labs"]


def test_it_ignores_filter_values_that_are_not_choices(team, signed_in, portfolio):
    page = signed_in(team.manager).get(_url(team, query="?band=purple&renewal=7&segment=SMB"))
    assert page.status_code == 200
    assert _names(page.content.decode()) == ["Padaria Aurora", "Zebra Co"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Cedar Labs", "Padaria Aurora", "Zebra Co"]),
        ("-name", ["Zebra Co", "Padaria Aurora", "Cedar Labs"]),
        ("mrr", ["Zebra Co", "Padaria Aurora", "Cedar Labs"]),
        ("-mrr", ["Cedar Labs", "Padaria Aurora", "Zebra Co"]),
        ("score", ["Padaria Aurora", "Cedar Labs", "Zebra Co"]),  # no score: last
        ("-score", ["Cedar Labs", "Padaria Aurora", "Zebra Co"]),
        ("renewal", ["Zebra Co", "Cedar Labs", "Padaria Aurora"]),  # monthly: last
        ("-renewal", ["Cedar Labs", "Zebra Co", "Padaria Aurora"]),
    ],
)
def test_it_sorts_by_each_column_both_ways(team, signed_in, portfolio, sort, expected):
    html = signed_in(team.manager).get(_url(team, query=f"?sort={sort}")).content.decode()
    assert _names(html) == expected


def test_it_links_headers_to_the_other_direction_keeping_the_filters(team, signed_in, portfolio):
    html = signed_in(team.manager).get(_url(team, query="?segment=SMB&sort=-mrr")).content
    html = html.decode()
    assert 'aria-sort="descending"' in html
    assert "?segment=SMB&amp;sort=mrr" in html  # MRR again: ascending
    assert "?segment=SMB&amp;sort=score" in html  # another column: its first direction


def test_it_paginates_by_50(team, signed_in):
    with tenant_context(team.organization):
        bulk_portfolio(team.organization, count=60, owner=team.manager)
    client = signed_in(team.manager)
    first = client.get(_url(team, query="?segment=SMB")).content.decode()
    assert len(_names(first)) == 30  # half are SMB: one page
    first = client.get(_url(team)).content.decode()
    assert len(_names(first)) == 50
    assert "Page 1 of 2" in first
    assert "sort=name&amp;page=2" in first
    second = client.get(_url(team, query="?page=2")).content.decode()
    assert len(_names(second)) == 10
    assert _names(second)[0] == "Bulk account 00050"


def test_it_renders_only_the_table_for_htmx(team, signed_in, portfolio):
    page = signed_in(team.manager).get(_url(team, query="?band=at_risk"), HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<html" not in html
    assert "<form" not in html
    assert "<select" not in html
    assert "<table" in html
    assert _names(html) == ["Padaria Aurora"]
    assert '<input type="hidden" name="sort" value="name">' in html
    assert "HX-Request" in page["Vary"]


def test_it_renders_the_whole_page_for_a_history_restore(team, signed_in, portfolio):
    page = signed_in(team.manager).get(
        _url(team), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in page.content.decode()


def test_it_swaps_the_table_and_pushes_the_url_on_every_change(team, signed_in, portfolio):
    html = signed_in(team.manager).get(_url(team)).content.decode()
    form = re.search(r"<form[^>]*id=\"account-filters\"[^>]*>", html, flags=re.S).group(0)
    assert 'method="get"' in form  # the same form without JavaScript
    assert f'action="{_url(team)}"' in form
    assert f'hx-get="{_url(team)}"' in form
    assert 'hx-trigger="change, submit"' in form
    assert 'hx-target="#account-table"' in form
    assert 'hx-push-url="true"' in form
    for name in ("owner", "segment", "stage", "band", "renewal", "flag"):
        assert f'name="{name}"' in html
    headers = re.findall(r"<th[^>]*><a [^>]*>", html)
    assert len(headers) == 4
    assert all('hx-push-url="true"' in h and "hx-get=" in h and "href=" in h for h in headers)


def test_it_keeps_the_submitted_filters_in_the_form(team, signed_in, portfolio):
    html = signed_in(team.manager).get(_url(team, query="?band=at_risk")).content.decode()
    assert '<option value="at_risk" selected>' in html


def test_it_escapes_account_names(team, signed_in):
    with tenant_context(team.organization):
        AccountFactory(name="<script>alert(1)</script>")
    html = signed_in(team.manager).get(_url(team)).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _csv(response):
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def test_it_exports_the_filtered_list_as_csv(team, signed_in, portfolio):
    with tenant_context(team.organization):
        AccountFactory(name="Açaí São João", segment="SMB")
    response = signed_in(team.manager).get(_url(team, "accounts_csv", "?segment=SMB&sort=-mrr"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "external_id",
        "name",
        "owner_email",
        "segment",
        "lifecycle_stage",
        "mrr",
        "currency",
        "health_score",
        "health_band",
        "next_renewal_on",
    ]
    assert [r[1] for r in rows[1:]] == ["Padaria Aurora", "Zebra Co", "Açaí São João"]
    aurora, zebra, acai = rows[1:]
    aurora_id = portfolio["aurora"].external_id
    assert aurora == [
        aurora_id, "Padaria Aurora", team.manager.email, "SMB", "onboarding",
        "500.00", "BRL", "30.0", "at_risk", "",
    ]  # fmt: skip
    assert zebra[2] == ""
    assert zebra[5] == "300.00"
    assert zebra[7:9] == ["", ""]
    assert date.fromisoformat(zebra[9]) > organization_today(team.organization)
    assert acai[5] == "0.00"


def test_it_exports_the_list_for_a_brazilian_spreadsheet(team, signed_in, portfolio):
    team.manager.language = "pt-br"
    team.manager.save(update_fields=["language"])
    response = signed_in(team.manager).get(_url(team, "accounts_csv", "?segment=SMB&sort=-mrr"))
    body = response.content.decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][:3] == ["external_id", "name", "owner_email"]  # one column each
    aurora = rows[1]
    assert (aurora[1], aurora[5], aurora[7]) == ("Padaria Aurora", "500,00", "30,0")


def test_it_exports_every_page(team, signed_in):
    with tenant_context(team.organization):
        bulk_portfolio(team.organization, count=120, owner=team.manager)
    rows = _csv(signed_in(team.manager).get(_url(team, "accounts_csv")))
    assert len(rows) == 121


def test_it_keeps_formulas_out_of_the_csv(team, signed_in):
    with tenant_context(team.organization):
        AccountFactory(name='=HYPERLINK("http://evil.example")', segment="+1")
    rows = _csv(signed_in(team.manager).get(_url(team, "accounts_csv")))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example")'
    assert rows[1][3] == "'+1"


def test_it_links_the_export_with_the_current_filters(team, signed_in, portfolio):
    html = signed_in(team.manager).get(_url(team, query="?band=at_risk&sort=-mrr")).content
    assert f"{_url(team, 'accounts_csv')}?band=at_risk&amp;sort=-mrr" in html.decode()


def test_it_counts_mrr_and_renewals_as_the_health_score_does(team):
    """The SQL MRR and next renewal equal metrics.health.inputs.customers_on's: month ends,
    a leap day, cancellations on file, cents rounded half to even."""
    organization = team.organization
    today = organization_today(organization)
    with tenant_context(organization):
        cases = [
            ("quarter", date(2024, 1, 31), None, 90_000),  # the 31st in shorter months
            ("quarter", today - timedelta(days=91), None, 100_001),
            ("year", date(2020, 2, 29), None, 1_200_006),  # a leap day; 100,000.5 → even
            ("year", today - timedelta(days=1), None, 1_200_018),  # 100,001.5 → even
            ("year", today - timedelta(days=365), None, 1_000_000),
            ("quarter", date(2025, 1, 1), today + timedelta(days=5), 30_000),  # cancelling
            ("year", date(2025, 3, 15), today + timedelta(days=400), 600_000),
            ("month", date(2025, 1, 1), None, 50_000),  # no renewal
        ]
        for interval, started_on, ended_on, amount in cases:
            SubscriptionFactory(
                billing_interval=interval,
                started_on=started_on,
                ended_on=ended_on,
                amount_cents=amount,
            )
        expected = {
            int(row.account_id): (
                int(row.mrr),
                None if pd.isna(row.next_renewal) else row.next_renewal.date(),
            )
            for row in customers_on(subscriptions_frame(), today).itertuples()
        }
        actual = {
            a.pk: (a.mrr_cents, a.next_renewal_on)
            for a in account_portfolio(today=today, health_day=None)
        }
    assert actual == expected
    assert sum(renewal is not None for _mrr, renewal in actual.values()) == 7
    assert sorted(mrr for mrr, _renewal in actual.values())[-2:] == [100_000, 100_002]


def test_it_never_shows_another_organizations_accounts(team, signed_in, portfolio):
    other = OrganizationFactory()
    with tenant_context(other):
        foreign = AccountFactory(name="Foreign Ltd", segment="SMB")
        SubscriptionFactory(account=foreign)
        AccountHealthFactory(account=foreign, band="at_risk")
    client = signed_in(team.manager)
    assert "Foreign Ltd" not in client.get(_url(team)).content.decode()
    assert "Foreign Ltd" not in client.get(_url(team, query="?band=at_risk")).content.decode()
    assert "Foreign Ltd" not in client.get(_url(team, "accounts_csv")).content.decode()
    outsider = signed_in(team.outsider)
    assert outsider.get(_url(team)).status_code == 404
    assert outsider.get(_url(team, "accounts_csv")).status_code == 404


def _queries(client, url):
    client.get(url)  # warm: the session and the first-request work
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "query", ["", "?band=at_risk&sort=score", "?renewal=90&sort=-mrr", "?flag=happy_unengaged"]
)
def test_it_runs_the_same_number_of_queries_for_10_and_1000_accounts(team, signed_in, query):
    organization = team.organization
    client = signed_in(team.manager)
    with tenant_context(organization):
        bulk_portfolio(organization, count=10, owner=team.manager)
    few = _queries(client, _url(team, query=query))
    csv_few = _queries(client, _url(team, "accounts_csv", query))
    with tenant_context(organization):
        bulk_portfolio(organization, count=990, owner=team.manager, start=10)
    assert _queries(client, _url(team, query=query)) == few
    assert _queries(client, _url(team, "accounts_csv", query)) == csv_few
    print(f"accounts list{query}: {few} queries; CSV: {csv_few}")
