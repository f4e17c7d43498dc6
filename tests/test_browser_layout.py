"""Phones and navigation in Debian's Chromium (headless, Playwright): the daily menu on
one line at 1440 px with the set-up pages in a keyboard-operable Admin menu, the survey
scale as equal buttons on a 390-px phone, a snoozed task leaving the open list after its
htmx swap, and wide tables that scroll inside a box a keyboard can focus."""

import contextlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from surveys.tokens import make_answer_token
from tests.factories import (
    PASSWORD,
    AccountFactory,
    ContactFactory,
    SubscriptionFactory,
    SurveyInvitationFactory,
    TodoFactory,
)
from tests.test_survey_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """The live server serves static files from the source folders, by their plain
    names; the production storage's hashed names exist only after collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@contextmanager
def _page(width: int, height: int) -> Iterator[Page]:
    """A page of that size in headless Chromium. Touch the database before or after."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            yield context.new_page()
        finally:
            browser.close()


def _sign_in(page: Page, base: str, user) -> None:
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/o/.*"))


def test_it_fits_the_daily_menu_on_one_line_at_1440_px(live_server, team):
    with _page(1440, 900) as page:
        _sign_in(page, live_server.url, team.owner)
        page.goto(live_server.url + f"/o/{team.organization.slug}/accounts/")
        tops = page.eval_on_selector_all(
            ".site-nav .nav-links > li, .site-nav .admin-menu > summary",
            "items => items.map(i => Math.round(i.getBoundingClientRect().top))",
        )
        admin_links = page.locator(".admin-menu a").count()
    assert len(tops) >= 8
    assert max(tops) - min(tops) <= 2, f"the menu's items sit at {tops}"
    assert admin_links == 10  # with Connections (issue 19)


def test_it_opens_the_admin_menu_from_the_keyboard(live_server, team):
    with _page(1440, 900) as page:
        _sign_in(page, live_server.url, team.owner)
        page.goto(live_server.url + f"/o/{team.organization.slug}/accounts/")
        members = page.locator(".admin-menu a", has_text="Members")
        hidden_before = not members.is_visible()
        page.focus(".admin-menu > summary")
        page.keyboard.press("Enter")
        shown = members.is_visible()
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert hidden_before
    assert shown
    assert focused == "Members"


def test_it_shows_the_nps_scale_as_one_row_of_equal_buttons_on_a_phone(live_server, team):
    with tenant_context(team.organization):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="en"))
    token = make_answer_token(organization_id=team.organization.pk, invitation_id=invitation.pk)
    with _page(390, 844) as page:
        page.goto(live_server.url + reverse("public_surveys:answer", args=[token]))
        boxes = page.eval_on_selector_all(
            ".survey-score span",
            "spans => spans.map(s => { const r = s.getBoundingClientRect();"
            " return [Math.round(r.top), r.width, r.height]; })",
        )
        sideways = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert len(boxes) == 11
    assert len({top for top, _, _ in boxes}) == 1, f"the buttons sit at {boxes}"
    widths = [width for _, width, _ in boxes]
    assert max(widths) - min(widths) < 1, f"unequal buttons: {widths}"
    assert min(widths) >= 24  # WCAG 2.2's smallest target
    assert sideways <= 0


def test_it_takes_a_snoozed_task_out_of_the_open_list(live_server, team):
    with tenant_context(team.organization):
        todo = TodoFactory(
            title="Call Acme back", assignee=team.manager, account=AccountFactory(name="Acme")
        )
        TodoFactory(title="Send the QBR deck", assignee=team.manager)
        until = organization_today(team.organization) + timedelta(days=3)
    with _page(1440, 900) as page:
        _sign_in(page, live_server.url, team.manager)
        page.goto(live_server.url + f"/o/{team.organization.slug}/tasks/")
        row = page.locator(f"#task-{todo.pk}")
        row.locator("input[name=until]").fill(until.isoformat())
        row.get_by_role("button", name="Snooze").click()
        page.wait_for_selector(f"#task-{todo.pk}.task-snoozed")
        note = row.inner_text()
        buttons = row.locator("button").count()
        open_rows = page.locator("#task-table tbody tr:not(.task-snoozed)").all_inner_texts()
        url = page.url
    assert "is hidden until" in note
    assert buttons == 0
    assert not any("Call Acme back" in text for text in open_rows)
    assert any("Send the QBR deck" in text for text in open_rows)
    assert url.endswith("/tasks/")  # no reload, no jump


def test_it_scrolls_a_wide_table_inside_a_box_a_keyboard_can_focus(live_server, team):
    with tenant_context(team.organization):
        account = AccountFactory(name="Acme Indústria e Comércio de Equipamentos Ltda.")
        for n in range(3):
            SubscriptionFactory(account=account, plan=f"Enterprise annual plan number {n}")
    with _page(390, 844) as page:
        _sign_in(page, live_server.url, team.manager)
        page.goto(live_server.url + f"/o/{team.organization.slug}/accounts/{account.pk}/")
        # Every box that scrolls sideways is a focusable, named region.
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('main *')]
              .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                           && e.scrollWidth > e.clientWidth)
              .map(e => [e.tagName, e.getAttribute('tabindex'), e.getAttribute('role'),
                         e.getAttribute('aria-label')])"""
        )
        region = page.locator("#subscriptions .scroll-region").first
        region.focus()
        page.keyboard.press("End")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        # Chromium animates a keyboard scroll: wait for it to move, a few seconds at most.
        with contextlib.suppress(PlaywrightTimeoutError):
            region.element_handle().wait_for_element_state("stable", timeout=5000)
            page.wait_for_function(
                "e => e.scrollLeft > 0", arg=region.element_handle(), timeout=5000
            )
        scrolled = region.evaluate("e => e.scrollLeft")
        sideways = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert boxes, "the subscriptions table is wider than a phone"
    for tag, tabindex, role, label in boxes:
        assert (tabindex, role) == ("0", "region"), f"{tag} scrolls but is not a region"
        assert label
    assert scrolled > 0
    assert sideways <= 0


def test_it_marks_the_table_busy_while_htmx_fetches_and_keeps_the_reader_in_place(
    live_server, team
):
    """A filter swaps the table in place: the table says it is busy (aria-busy, dimmed)
    until its answer arrives, and the page stays where the reader was; the next page of
    rows is brought into view at its top, as a page load would."""
    with tenant_context(team.organization):
        AccountFactory.create_batch(60)
    with _page(1440, 700) as page:
        _sign_in(page, live_server.url, team.manager)
        page.goto(live_server.url + f"/o/{team.organization.slug}/accounts/")
        page.evaluate(
            """() => { window.busySeen = [];
            document.addEventListener('htmx:beforeSend',
              e => window.busySeen.push(e.detail.target.getAttribute('aria-busy'))); }"""
        )
        page.evaluate("() => window.scrollTo(0, 200)")
        before = page.evaluate("() => window.scrollY")
        page.select_option("select[name=customer]", "never")
        page.wait_for_url(re.compile(r".*customer=never.*"))
        page.wait_for_function("() => !document.querySelector('[aria-busy]')")
        after_filter = page.evaluate("() => window.scrollY")
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.locator(".pagination a").last.click()
        page.wait_for_url(re.compile(r".*page=2.*"))
        page.wait_for_function("() => !document.querySelector('[aria-busy]')")
        table_top = page.evaluate(
            "() => document.querySelector('#account-table').getBoundingClientRect().top"
        )
        busy = page.evaluate("() => window.busySeen")
    assert busy == ["true", "true"]
    assert abs(after_filter - before) <= 2
    assert -2 <= table_top <= 120, f"the table's top is at {table_top} px"
