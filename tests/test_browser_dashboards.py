"""A manager's and a board member's day in Debian's Chromium (headless, Playwright):
sign in, filter the accounts list, open an account, a customer answers a survey from
the email it received, and a viewer opens the executive dashboard. Screenshots go to
artifacts/screenshots/ (git-ignored) for CI to keep."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Organization
from csplatform.tenancy import tenant_context
from surveys import sending
from surveys.models import Response
from tests.factories import CampaignFactory, ContactFactory
from tests.test_survey_browser import _browser_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PASSWORD = "browser-test-password"


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """The live server serves static files from the source folders, by their plain
    names; the production storage's hashed names exist only after collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def demo():
    """The demo organization, seeded and computed as `make demo` does."""
    call_command("seed_demo", "--scale", "small", "--password", PASSWORD, verbosity=0)
    call_command("recompute_metrics", "--org", "demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return Organization.objects.get(slug="demo")


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in(page, base, email):
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/o/demo/.*"))


def test_it_lets_a_manager_filter_the_accounts_and_open_one(live_server, demo):
    with _browser_page() as page:
        _sign_in(page, live_server.url, "manager@demo.csplatform.test")
        _shot(page, "manager-home")
        page.goto(live_server.url + "/o/demo/accounts/")
        everyone = page.locator("#account-table tbody tr").count()
        page.select_option("select[name=band]", "at_risk")
        page.wait_for_url(re.compile(r".*band=at_risk.*"))  # the URL stays shareable
        page.wait_for_function(
            "n => document.querySelectorAll('#account-table tbody tr').length < n", arg=everyone
        )
        at_risk = page.locator("#account-table tbody tr").count()
        _shot(page, "accounts-at-risk")
        page.locator("#account-table tbody tr a").first.click()
        page.wait_for_url(re.compile(r".*/o/demo/accounts/\d+/.*"))
        heading = page.locator("h1").inner_text()
        page.wait_for_selector(".js-plotly-plot .main-svg")
        # Plotly's layers stack only with its stylesheet, which the CSP keeps from being
        # injected: static/css/app.css carries it.
        layers = page.eval_on_selector_all(
            ".js-plotly-plot .main-svg", "svgs => svgs.map(s => getComputedStyle(s).position)"
        )
        _shot(page, "account")
    assert 0 < at_risk < everyone
    assert heading.strip()
    assert layers
    assert set(layers) == {"absolute"}


def _inside(box, frame):
    """Whether the bounding box `box` lies within `frame` (half a pixel of rounding)."""
    return (
        frame["x"] - 0.5 <= box["x"]
        and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5
        and frame["y"] - 0.5 <= box["y"]
        and box["y"] + box["height"] <= frame["y"] + frame["height"] + 0.5
    )


def test_it_draws_a_charts_hover_label_inside_the_chart(live_server, demo):
    """Without plotly's stylesheet (which the CSP keeps plotly from injecting) its layers
    stack one under the other, and the hover label lands below the chart, over the next
    card: it must appear within the chart's own box."""
    with _browser_page() as page:
        _sign_in(page, live_server.url, "manager@demo.csplatform.test")
        page.goto(live_server.url + "/o/demo/accounts/")
        page.locator("#account-table tbody tr a").first.click()
        page.wait_for_url(re.compile(r".*/o/demo/accounts/\d+/.*"))
        page.wait_for_selector("#account-mrr .main-svg")
        page.locator("#account-mrr").scroll_into_view_if_needed()
        # A point of the line (plotly labels the nearest point within 20 pixels); the mouse
        # goes there itself, as a person's does: the plot's drag layer lies over the points.
        point = page.locator("#account-mrr .scatterlayer .point").first.bounding_box()
        assert point
        page.mouse.move(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
        # The chart's hovermode is "x unified": its label is the hover layer's legend box;
        # "closest" charts draw a .hovertext.
        label = page.wait_for_selector(
            "#account-mrr .hoverlayer .hovertext, #account-mrr .hoverlayer .legend",
            state="attached",
            timeout=5000,
        )
        chart = page.locator("#account-mrr").bounding_box()
        plot = page.locator("#account-mrr .nsewdrag").first.bounding_box()
        box = label.bounding_box()
        _shot(page, "account-hover")
    assert chart
    assert plot
    assert box
    assert box["width"] > 0
    assert box["height"] > 0
    assert _inside(plot, chart)
    assert _inside(box, chart), f"the hover label {box} is outside the chart {chart}"


def test_it_records_an_answer_clicked_in_the_email_a_customer_received(live_server, demo, smtp):
    with tenant_context(demo):
        ContactFactory(email="ana@cliente.example", locale="pt-br")
        campaign = CampaignFactory()
        sending.campaign_send_start(campaign)
        while sending.invitation_send_next(campaign.pk):
            pass
    message = next(m for m in smtp.messages if m["To"] == "ana@cliente.example")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()
    link = re.search(r"^9: https?://[^/\s]+(/s/\S+)", body, re.MULTILINE).group(1)
    with _browser_page() as page:
        page.goto(live_server.url + link)
        page.wait_for_url(re.compile(r".*/thanks/$"))
        _shot(page, "survey-thanks")
    with tenant_context(demo):
        assert list(
            Response.objects.filter(contact__email="ana@cliente.example").values_list(
                "score", flat=True
            )
        ) == [9]


def test_it_shows_a_board_member_only_the_executive_dashboard(live_server, demo):
    with _browser_page() as page:
        _sign_in(page, live_server.url, "board@demo.csplatform.test")
        landed = page.url
        nav = page.locator("nav.site-nav").inner_text()
        _shot(page, "executive")
        page.goto(live_server.url + "/o/demo/accounts/")
        forbidden = page.locator("h1").inner_text()
    assert landed.endswith("/o/demo/executive/")
    assert "Workspace" not in nav
    assert "Accounts" not in nav
    assert forbidden.strip()  # the 403 page, not the list
