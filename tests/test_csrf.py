"""CSRF: every URL refuses a POST without a token (forms and htmx alike), except the
few exempt by design, each for a documented reason (docs/security.md).

The URLs are the URL catalogue's (tests/url_catalogue.py), which walks the
resolver, so a new form is covered as soon as it exists; the catalogue also says
which URLs are exempt and why. The REST API is exempt by design: it
authenticates with an API key in a header, never with the session cookie, which
is what makes cross-site requests harmless; the tests prove it ignores the session.
"""

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Account, Role
from csplatform.tenancy import tenant_context
from surveys.models import Response
from surveys.tokens import make_answer_token
from tests.factories import (
    PASSWORD,
    ContactFactory,
    MembershipFactory,
    OrganizationFactory,
    SurveyInvitationFactory,
)
from tests.url_catalogue import (
    API_ROUTES,
    CATALOGUE,
    CSRF_EXEMPT,
    WEB_ROUTES,
    objects_of,
    org_url,
)

pytestmark = pytest.mark.django_db

CSRF_FAILED = "CSRF verification failed"


@pytest.fixture
def org():
    return OrganizationFactory()


@pytest.fixture
def owner(org):
    return MembershipFactory(organization=org, role=Role.OWNER).user


@pytest.fixture
def strict_client(owner):
    """A signed-in owner whose POSTs are checked for CSRF as a browser's would be."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _url(route, org):
    if route.in_organization:
        return org_url(route, objects_of(org, "acme"), org_slug=org.slug)
    # Tokens and the like: the CSRF check runs before the view reads them.
    return CATALOGUE[route.name].url({})


def _csrf_token(client, org):
    """The CSRF token the organization's pages carry (for htmx, on <body>)."""
    page = client.get(reverse("accounts:members", kwargs={"org_slug": org.slug}))
    return re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)


def test_it_exempts_exactly_the_documented_views_from_csrf():
    exempt = {r.name for r in WEB_ROUTES if getattr(r.view, "csrf_exempt", False)}
    assert exempt == set(CSRF_EXEMPT)
    assert exempt == {r.name for r in WEB_ROUTES if CATALOGUE[r.name].csrf_exempt}


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize(
    "route", [r for r in WEB_ROUTES if r.name not in CSRF_EXEMPT], ids=lambda r: r.name
)
def test_it_refuses_a_post_without_a_csrf_token(route, htmx, org, strict_client):
    url = _url(route, org)
    headers = {"HX-Request": "true"} if htmx else {}
    response = strict_client.post(url, {}, headers=headers)
    assert response.status_code == 403, f"POST {url} answered {response.status_code}"
    assert CSRF_FAILED in response.content.decode(), f"POST {url}: a 403, but not for CSRF"
    # The control: with the page's token, the same POST is not refused for CSRF.
    token = _csrf_token(strict_client, org)
    accepted = strict_client.post(url, {}, headers={**headers, "X-CSRFToken": token})
    if not accepted.streaming:  # a download (the organization export) is not a refusal
        assert CSRF_FAILED not in accepted.content.decode(), f"POST {url} with a token"
    assert accepted.status_code < 500, f"POST {url} with a token failed"


@pytest.mark.parametrize(
    "route", [r for r in WEB_ROUTES if not r.in_organization], ids=lambda r: r.name
)
def test_it_takes_the_methods_the_catalogue_lists(route, org):
    # The pages under /o/<slug>/ prove theirs in the role matrix, the API in the
    # cross-tenant matrix; these are the rest (sign-in, public survey pages, the site).
    entry = CATALOGUE[route.name]
    client = Client(raise_request_exception=False)
    for method in entry.methods:
        response = getattr(client, method)(entry.url({}))
        assert response.status_code != 405, f"{method.upper()} {route.name}"


def test_it_protects_the_public_survey_answer_with_a_csrf_token(client, org):
    strict = Client(enforce_csrf_checks=True)
    with tenant_context(org):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="en"))
    token = make_answer_token(organization_id=org.pk, invitation_id=invitation.pk)
    url = reverse("public_surveys:answer", args=[token])
    refused = strict.post(url, {"score": 9, "automatic": "0"})
    assert refused.status_code == 403
    page = strict.get(url)  # the page sets the cookie and carries the token
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    csrf = strict.cookies[settings.CSRF_COOKIE_NAME].value
    answered = strict.post(url, {"score": 9, "automatic": "0", "csrfmiddlewaretoken": csrf})
    assert answered.status_code == 302
    with tenant_context(org):
        assert Response.objects.get().score == 9


def test_it_takes_a_one_click_unsubscribe_without_a_csrf_token(org):
    with tenant_context(org):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="en"))
    token = make_answer_token(organization_id=org.pk, invitation_id=invitation.pk)
    response = Client(enforce_csrf_checks=True).post(
        reverse("public_surveys:unsubscribe", args=[token]), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    with tenant_context(org):
        invitation.contact.refresh_from_db()
    assert invitation.contact.opted_out_at is not None


# --- the API: no cookies, so no CSRF ----------------------------------------------------


def test_it_authenticates_the_api_with_keys_only():
    classes = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert classes == ["accounts.authentication.ApiKeyAuthentication"]


@pytest.mark.parametrize("route", [r for r in API_ROUTES if not r.kwargs], ids=lambda r: r.name)
def test_it_ignores_the_session_on_the_api(route, org, strict_client):
    url = reverse(route.name)
    if route.name in {"api:schema", "api:docs"}:  # public documentation, read-only
        assert strict_client.post(url, {}).status_code in {401, 403, 405}
        return
    assert strict_client.get(url).status_code == 401
    token = _csrf_token(strict_client, org)
    body = json.dumps({"external_id": "from-session", "name": "From a session"})
    for headers in ({}, {"X-CSRFToken": token}):
        response = strict_client.post(url, body, content_type="application/json", headers=headers)
        assert response.status_code == 401, f"POST {url} with a session: {response.status_code}"
    with tenant_context(org):
        assert not Account.objects.filter(external_id="from-session").exists()


def test_it_needs_no_csrf_token_with_an_api_key(org, owner):
    with tenant_context(org):
        _api_key, key = account_services.api_key_create(name="tests", created_by=owner)
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/accounts/",
        json.dumps({"external_id": "a1", "name": "Acme"}),
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201


def test_it_lets_a_signed_in_person_change_their_password(owner, strict_client, org):
    # Found by the control above: Django's password change URLs had no templates (a 500).
    url = reverse("password_change")
    page = strict_client.get(url)
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    changed = strict_client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
            "csrfmiddlewaretoken": _csrf_token(strict_client, org),
        },
    )
    assert changed.status_code == 302
    assert strict_client.get(changed["Location"]).status_code == 200
    owner.refresh_from_db()
    assert owner.check_password("a-new-long-passphrase-42")
