"""Every page, as a phone and a desktop show it, in both languages: Debian's Chromium
(headless, Playwright) opens every GET page of the demo organization as its manager, its
owner and its board member (viewer), at 1440x900 and 390x844, in English and pt-BR, plus
the sign-in page and the public survey page. On each page:

- axe-core (node_modules/axe-core, installed by `make node-deps` from the npm registry)
  reports no serious or critical violation;
- the page never scrolls sideways (document.documentElement.scrollWidth <= innerWidth);
- a full-page screenshot goes to artifacts/screenshots/<role>/<lang>-<width>/<page>.png
  (git-ignored) for a person to look through.

The pages come from tests/url_catalogue.py (every URL name of the application), kept to
those that answer a GET with an HTML page for the role: a new page is walked without
anyone listing it. One test per role x language x width walks all of that role's pages
in one browser context (signed in once) and fails naming every page that broke, with
the role, language and width in the test's id. docs/pages.md says how to run it.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from accounts.models import Account, Organization, User
from csplatform.tenancy import tenant_context
from surveys.tokens import make_answer_token
from tests.factories import ContactFactory, SurveyInvitationFactory
from tests.one_language import internal_keys, page_text, typed_text, untranslated
from tests.test_survey_browser import CHROMIUM, CHROMIUM_ARGS
from tests.url_catalogue import CATALOGUE, MISSING_INT, ORG_ENTRIES, SITE_URLS

# Marked for the database (pytest-django creates the test database only for a run with
# a test that asks for it), but not transactional: that would empty it after each test.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "browser-test-password"

SIZES = {1440: (1440, 900), 390: (390, 844)}
LANGUAGES = ("en", "pt-br")
# Who walks the pages, and as whom they sign in (the demo's logins, see seed_demo).
ROLES = {
    "manager": "manager@demo.csplatform.test",
    "owner": "owner@demo.csplatform.test",
    "viewer": "board@demo.csplatform.test",
}
RANK = {"viewer": 0, "manager": 1, "admin": 2, "owner": 3}
# Signed-in pages outside an organization (the catalogue's SITE_URLS without a token).
SIGNED_IN_SITE_PAGES = [
    name
    for name, (family, methods) in SITE_URLS.items()
    if "get" in methods and family in {"site", "sign_in"} and not CATALOGUE[name].route.kwargs
]
IMPACTS_THAT_FAIL = ("serious", "critical")

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")), count: v.nodes.length,
  }));
}"""
SIDEWAYS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@dataclass(frozen=True)
class Site:
    base: str
    pages: dict[str, list[tuple[str, str]]]  # role -> [(page name, path)]
    public: dict[str, list[tuple[str, str]]]  # language -> the pages a visitor sees
    typed: list[str]  # what people typed, shown as typed in any language


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """The live server serves static files from the source folders, by their plain
    names; the production storage's hashed names exist only after collectstatic."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _html_page(client: Client, path: str) -> bool:
    response = client.get(path)
    return (
        response.status_code == 200
        and response["Content-Type"].startswith("text/html")
        and b"<html" in response.content
    )


def _org_pages(organization: Organization) -> list[tuple[str, str, str]]:
    """(name, path, minimum role) of every organization page that answers a GET with
    HTML, its arguments filled as the role matrix fills them, in the demo organization
    (whose owner stands in for an admin)."""
    people = {role: User.objects.get(email=email) for role, email in ROLES.items()}
    team = SimpleNamespace(organization=organization, admin=people["owner"], **people)
    client = Client()
    client.force_login(team.owner, backend="django.contrib.auth.backends.ModelBackend")
    pages = []
    for entry in sorted(ORG_ENTRIES, key=lambda e: e.name):
        if entry.route.kwargs:
            # Ids that exist nowhere: a view that takes no GET answers 405 before looking.
            nowhere = dict.fromkeys(entry.route.kwargs, MISSING_INT)
            probe = reverse(entry.name, kwargs={"org_slug": organization.slug, **nowhere})
            if client.get(probe).status_code == 405:
                continue
        path = entry.matrix_url(team)
        if _html_page(client, path):
            pages.append((entry.name, path, entry.minimum or "owner"))
    for name in SIGNED_IN_SITE_PAGES:
        path = reverse(name)
        if _html_page(client, path):
            pages.append((name, path, "viewer"))
    return pages


def _survey_page(organization: Organization, language: str) -> str:
    """The public answer page of an invitation sent to a demo contact who reads
    `language` (the contact's locale, not the browser's, picks the survey's)."""
    with tenant_context(organization):
        account = Account.objects.order_by("pk").first()
        invitation = SurveyInvitationFactory(
            contact=ContactFactory(account=account, locale=language)
        )
    token = make_answer_token(organization_id=organization.pk, invitation_id=invitation.pk)
    return reverse("public_surveys:answer", args=[token])


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker) -> Iterator[Site]:
    """The demo organization, seeded and computed once for the module as `make demo`
    does, and the pages of each role. The database stays open to the live server for
    the module's tests and is emptied after them.

    A live server of its own, not pytest-django's `live_server`: a test using that one
    gets transactional_db, which empties the database after every test."""
    server = LiveServer("localhost")
    with (
        pytest.MonkeyPatch.context() as env,
        django_db_blocker.unblock(),
        server._live_server_modified_settings,  # ALLOWED_HOSTS, as pytest-django does
        # The hasher the tests sign in with (conftest's _fast_password_hashing).
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        # Each test's rollback runs while Playwright's event loop is open in this thread,
        # which Django refuses unless told that no coroutine shares the connection.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        try:
            call_command("seed_demo", "--scale", "small", "--password", PASSWORD, verbosity=0)
            call_command("recompute_metrics", "--org", "demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
            organization = Organization.objects.get(slug="demo")
            found = _org_pages(organization)
            pages = {
                role: [(name, path) for name, path, minimum in found if RANK[role] >= RANK[minimum]]
                for role in ROLES
            }
            public = {
                language: [
                    ("login", reverse("login")),
                    ("public_surveys-answer", _survey_page(organization, language)),
                ]
                for language in LANGUAGES
            }
            yield Site(base=server.url, pages=pages, public=public, typed=typed_text(organization))
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def browser(site) -> Iterator[Browser]:
    """One Chromium for the module, started once the database work is done (Django
    refuses ORM calls while Playwright's event loop runs in this thread)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


_signed_in: dict[str, dict] = {}


def _storage_state(browser: Browser, site: Site, role: str) -> dict:
    """The cookies of `role` signed in through the sign-in form, once per module."""
    if role not in _signed_in:
        context = browser.new_context()
        page = context.new_page()
        page.goto(site.base + reverse("login"))
        page.fill("input[name=username]", ROLES[role])
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r".*/o/demo/.*"))
        _signed_in[role] = context.storage_state()
        context.close()
    return _signed_in[role]


def _check(page: Page, site: Site, role: str, language: str, width: int, name: str, path: str):
    """What is wrong with one page, as sentences naming it (empty when nothing is)."""
    where = f"{role} {language} {width}px {name} ({path})"
    response = page.goto(site.base + path)
    if response is None or response.status >= 400:
        return [f"{where}: HTTP {response.status if response else 'no response'}"]
    page.wait_for_load_state("networkidle")
    problems = []
    folder = SCREENSHOTS / role / f"{language}-{width}"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name.replace(':', '-')}.png"), full_page=True)
    scroll_width, inner_width = page.evaluate(SIDEWAYS)
    if scroll_width > inner_width:
        problems.append(f"{where}: scrolls sideways ({scroll_width} px wide in {inner_width})")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(AXE.read_text() + "\n;0")
    for violation in page.evaluate(AXE_RUN):
        if violation["impact"] in IMPACTS_THAT_FAIL:
            problems.append(
                f"{where}: axe {violation['impact']} {violation['id']} on "
                f"{violation['count']} element(s): {', '.join(violation['nodes'])}"
            )
    # One language per screen, as the reader sees it once scripts ran (the charts'
    # axes included): no string of the other language, no internal key. What people
    # typed is theirs, in their own words (tests/one_language.py).
    text = page_text(page.content())
    for typed in site.typed:
        text = text.replace(typed, "")
    if left := untranslated(text, language):
        problems.append(f"{where}: not in {language}: {left!r}")
    if keys := internal_keys(text):
        problems.append(f"{where}: internal keys {keys!r}")
    return problems


def _walk(browser, site, role, language, width, pages, storage_state=None):
    assert AXE.exists(), "run `make node-deps` (npm ci) to install axe-core"
    w, h = SIZES[width]
    context = browser.new_context(viewport={"width": w, "height": h}, storage_state=storage_state)
    context.add_cookies([{"name": "django_language", "value": language, "url": site.base}])
    page = context.new_page()
    try:
        problems = []
        for name, path in pages:
            problems += _check(page, site, role, language, width, name, path)
    finally:
        context.close()
    return problems


@pytest.mark.parametrize("width", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_it_shows_every_page_of_a_role_without_accessibility_or_layout_faults(
    browser, site, role, language, width
):
    pages = site.pages[role]
    assert pages, f"the catalogue gave {role} no page"
    problems = _walk(
        browser, site, role, language, width, pages, _storage_state(browser, site, role)
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_sign_in_and_survey_pages_without_accessibility_or_layout_faults(
    browser, site, language, width
):
    problems = _walk(browser, site, "visitor", language, width, site.public[language])
    assert not problems, "\n".join(problems)


def test_it_walks_the_pages_each_role_may_open(site):
    """The walk covers what the catalogue says each role may open: the admin pages for
    the owner only, the executive dashboard for everyone."""
    names = {role: {name for name, _ in pages} for role, pages in site.pages.items()}
    assert "dashboards:executive" in names["viewer"]
    assert "dashboards:accounts" not in names["viewer"]
    assert {"dashboards:accounts", "dashboards:revenue", "todos:list"} <= names["manager"]
    assert "accounts:members" not in names["manager"]
    assert {"accounts:members", "accounts:audit_log", "accounts:privacy"} <= names["owner"]
    assert names["manager"] < names["owner"]
