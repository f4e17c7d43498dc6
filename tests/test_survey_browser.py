"""The answer page in Debian's Chromium (headless, driven by Playwright): a scanner
that runs the page's script on every button records nothing; a person's click on
one button records exactly one response."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.urls import reverse
from playwright.sync_api import Page, sync_playwright

from csplatform.tenancy import tenant_context
from surveys.models import Response
from surveys.tokens import make_answer_token
from tests.factories import ContactFactory, OrganizationFactory, SurveyInvitationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
# Quiet and offline: no background connections from the browser (see .ci/run).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """The live server serves static files from the source folders, by their plain
    names; the production storage's hashed names exist only after collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@contextmanager
def _browser_page() -> Iterator[Page]:
    """A page in headless Chromium. Playwright runs an event loop in this thread while
    it is open, and Django refuses ORM calls then: touch the database before or after."""
    assert shutil.which(CHROMIUM), "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _open_button(page: Page, url: str) -> None:
    """Open an email button's link and wait until the page has submitted itself."""
    page.goto(url)
    page.wait_for_selector("form[data-autosubmit]", state="detached")


def _invitation(org):
    with tenant_context(org):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="en"))
    token = make_answer_token(organization_id=org.pk, invitation_id=invitation.pk)
    return reverse("public_surveys:answer", args=[token])


def _scores(org):
    with tenant_context(org):
        return [r.score for r in Response.objects.all()]


def test_it_records_nothing_when_a_browser_opens_every_score_link_in_a_row(live_server):
    org = OrganizationFactory()
    url = live_server.url + _invitation(org)
    with _browser_page() as page:
        for score in range(11):
            _open_button(page, f"{url}?score={score}")
        last = page.content()
    assert "Please confirm your answer" in last
    assert _scores(org) == []


def test_it_records_exactly_one_response_for_one_click(live_server):
    org = OrganizationFactory()
    url = live_server.url + _invitation(org)
    with _browser_page() as page:
        _open_button(page, f"{url}?score=9")
        landed, content = page.url, page.content()
        page.reload()  # the thank-you page again: nothing more
    assert landed.endswith("/thanks/")
    assert "Thank you for your answer!" in content
    assert _scores(org) == [9]
