"""Saved views in Debian's Chromium (headless, Playwright), at a phone's width: the
"Save this view" link follows the filters htmx changes, and the segment builder counts
as the filters change. Screenshots go to artifacts/screenshots/ (git-ignored)."""

import re

import pytest

from accounts.models import Role, Segment
from csplatform.tenancy import tenant_context
from tests.factories import PASSWORD, AccountFactory, ContactFactory, MembershipFactory
from tests.test_browser_dashboards import _shot
from tests.test_survey_browser import _browser_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_it_saves_the_filtered_view_from_a_phone(live_server):
    manager = MembershipFactory(role=Role.MANAGER)
    org = manager.organization
    with tenant_context(org):
        for n in range(3):
            ContactFactory(account=AccountFactory(name=f"Grande {n}", segment="Enterprise"))
        ContactFactory(account=AccountFactory(name="Pequena", segment="SMB"))
    base = live_server.url
    with _browser_page() as page:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(base + "/accounts/login/")
        page.fill("input[name=username]", manager.user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r".*/o/.*"))
        page.goto(f"{base}/o/{org.slug}/accounts/")
        page.select_option("select[name=segment]", "Enterprise")
        page.wait_for_url(re.compile(r".*segment=Enterprise.*"))
        link = page.get_attribute("#save-this-view", "href")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        _shot(page, "accounts-saved-views-390")
        page.click("#save-this-view")
        page.wait_for_url(re.compile(r".*/accounts/segments/new/.*"))
        first = page.inner_text("#segment-count")
        page.select_option("select[name=segment]", "SMB")
        page.wait_for_function(
            "() => document.querySelector('#segment-count').innerText.includes('1 account')"
        )
        page.select_option("select[name=segment]", "Enterprise")
        page.wait_for_function(
            "() => document.querySelector('#segment-count').innerText.includes('3 accounts')"
        )
        page.fill("#segment-name", "Enterprise")
        _shot(page, "segment-builder-390")
        page.click("text=Save segment")
        page.wait_for_url(re.compile(r".*/o/.*/accounts/\?segment=Enterprise$"))
        rows = page.locator("#account-table tbody tr").count()
    assert "segment=Enterprise" in link
    assert overflow <= 0
    assert "3 accounts" in first
    assert rows == 3
    with tenant_context(org):
        assert Segment.objects.get().filters == {"segment": "Enterprise"}
