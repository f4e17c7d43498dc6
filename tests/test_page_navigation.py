"""The header's menus and the empty pages, as each role sees them: the set-up pages sit in
an Admin menu that only admins and owners get; an empty page suggests only what its
reader may do; wide tables scroll inside a named, focusable region."""

import re

import pytest
from django.template import Context, Template
from django.urls import reverse

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "accounts:members",
    "accounts:api_keys",
    "accounts:imports",
    "todos:playbooks",
    "dashboards:health_model",
    "surveys:campaigns",
    "accounts:privacy",
    "accounts:audit_log",
]


def _page(client, name, team):
    return client.get(reverse(name, kwargs={"org_slug": team.organization.slug})).content.decode()


def _admin_menu(page):
    found = re.search(r'<details class="nav-menu admin-menu">(.*?)</details>', page, re.S)
    return found.group(1) if found else None


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_it_puts_every_admin_page_in_the_admin_menu(team, signed_in, persona):
    menu = _admin_menu(_page(signed_in(team.user(persona)), "dashboards:accounts", team))
    assert menu is not None
    for name in ADMIN_PAGES:
        assert f'href="{reverse(name, kwargs={"org_slug": team.organization.slug})}"' in menu


def test_it_keeps_the_admin_pages_out_of_the_daily_menu(team, signed_in):
    page = _page(signed_in(team.owner), "dashboards:accounts", team)
    daily = page.split('<details class="nav-menu admin-menu">')[0]
    for name in ADMIN_PAGES:
        assert reverse(name, kwargs={"org_slug": team.organization.slug}) not in daily


def test_it_shows_a_manager_no_admin_menu(team, signed_in):
    page = _page(signed_in(team.manager), "dashboards:accounts", team)
    assert _admin_menu(page) is None
    for name in ADMIN_PAGES:
        assert reverse(name, kwargs={"org_slug": team.organization.slug}) not in page


def test_it_marks_the_admin_menu_current_on_an_admin_page(team, signed_in):
    menu = _admin_menu(_page(signed_in(team.owner), "accounts:audit_log", team))
    assert re.search(r'href="[^"]*/audit-log/"\s*aria-current="page"', menu)


@pytest.mark.parametrize(
    "name", ["dashboards:home", "dashboards:accounts", "dashboards:revenue", "dashboards:health"]
)
def test_it_suggests_only_what_a_manager_can_do_on_an_empty_page(team, signed_in, name):
    page = _page(signed_in(team.manager), name, team)
    imports = reverse("accounts:imports", kwargs={"org_slug": team.organization.slug})
    assert imports not in page
    assert "Ask an admin of your organization to import your customer data." in page


@pytest.mark.parametrize(
    "name", ["dashboards:home", "dashboards:accounts", "dashboards:revenue", "dashboards:health"]
)
def test_it_offers_an_admin_the_import_on_an_empty_page(team, signed_in, name):
    page = _page(signed_in(team.admin), name, team)
    imports = reverse("accounts:imports", kwargs={"org_slug": team.organization.slug})
    assert f'href="{imports}"' in page
    assert "Ask an admin" not in page


def test_it_asks_a_manager_to_ask_for_a_campaign(team, signed_in):
    page = _page(signed_in(team.manager), "surveys:results", team)
    assert reverse("surveys:campaigns", kwargs={"org_slug": team.organization.slug}) not in page
    assert "Ask an admin of your organization to send a campaign." in page


def test_it_makes_a_scroll_region_a_named_focusable_region():
    html = Template(
        '{% load components i18n %}{% scroll_region _("MRR by month") "table-scroll" %}'
        "<table><tr><td>1</td></tr></table>{% endscroll_region %}"
    ).render(Context())
    assert html == (
        '<div class="table-wrap scroll-region table-scroll" tabindex="0" role="region" '
        'aria-label="MRR by month"><table><tr><td>1</td></tr></table></div>'
    )


def test_it_wraps_every_table_box_in_a_scroll_region():
    """A bare .table-wrap scrolls without being reachable from the keyboard (axe's
    scrollable-region-focusable): every template goes through {% scroll_region %}."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    bare = [
        str(path.relative_to(root))
        for app in ("accounts", "billing", "dashboards", "journeys", "surveys", "templates")
        for path in (root / app).rglob("*.html")
        if 'class="table-wrap' in path.read_text()
    ]
    assert bare == []


def test_it_indexes_every_section_of_the_revenue_page_with_plain_links(team, signed_in):
    """The long revenue page opens with an index: each link is a plain fragment (no
    script needed) to a heading that is on the page."""
    from tests.test_revenue_page import _store_months

    _store_months(team.organization, 3)
    page = _page(signed_in(team.manager), "dashboards:revenue", team)
    index = re.search(r'<nav class="page-index"[^>]*>(.*?)</nav>', page, re.S)
    assert index, "the revenue page has no index of its sections"
    targets = re.findall(r'<a href="#([\w-]+)">', index.group(1))
    assert targets == [
        "mrr-by-month",
        "movements-month",
        "movements-by-month",
        "churn-rates",
        "cohorts",
        "lifetime-value",
    ]
    for target in targets:
        assert f'<h2 id="{target}">' in page
