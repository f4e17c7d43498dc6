"""Every page and endpoint, tried with another organization's ids, slug and keys.

The URLs are the URL catalogue's (tests/url_catalogue.py), which walks the
resolver, so a new page is tried as soon as it exists; a URL without a catalogue
entry fails `test_it_has_a_catalogue_entry_for_every_url`, and one whose
arguments cannot be filled with another organization's object fails
`test_it_knows_how_to_fill_every_url` until a filler is added to ORG_URL_KWARGS
or API_URLS.

Organization B's data is all named "Borealis": a response that mentions it
leaked something. Organization A's owner must get a 404 for B's ids (the same
answer as for an id that does not exist: no oracle), B must be unchanged
afterwards, and a member of A gets a 404 for any page under B's slug.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Membership, Role
from csplatform.tenancy import tenant_context, tenant_models
from dashboards.models import Benchmark
from dashboards.services import benchmarks_ensure
from surveys.models import Campaign
from tests.factories import AccountFactory, MembershipFactory, OrganizationFactory, SurveyFactory
from tests.roles_executive import benchmarks_post
from tests.url_catalogue import (
    API_ROUTES,
    API_ROUTES_WITH_IDS,
    CATALOGUE,
    ENTRIES,
    ORG_ROUTES,
    ORG_ROUTES_WITH_IDS,
    ROUTES,
    objects_of,
    org_url,
)

pytestmark = pytest.mark.django_db

MARKER = "borealis"  # in every name and email of organization B


def _snapshot(organization):
    """Every row organization B owns, to prove a request changed none of them."""
    rows = {}
    with tenant_context(organization):
        for model in tenant_models():
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    rows["memberships"] = list(
        Membership.objects.filter(organization=organization).order_by("pk").values()
    )
    return rows


def _assert_nothing_leaked(response, what):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert MARKER not in body.decode(errors="replace").lower(), f"{what} shows B's data"


@pytest.fixture
def org_a():
    return OrganizationFactory(name="Acme Org")


@pytest.fixture
def org_b():
    return OrganizationFactory(name="Borealis Org", slug="org-b-other")


@pytest.fixture
def b(org_b):
    return objects_of(org_b, MARKER)


@pytest.fixture
def owner_of_a(org_a, org_b):
    owner = MembershipFactory(organization=org_a, role=Role.OWNER).user
    client = Client(raise_request_exception=False)
    client.force_login(owner, backend="django.contrib.auth.backends.ModelBackend")
    return client


# --- coverage -----------------------------------------------------------------------


def test_it_has_a_catalogue_entry_for_every_url():
    missing = {r.name or r.route for r in ROUTES} - set(CATALOGUE)
    assert not missing, f"add these URLs to tests/url_catalogue.py: {sorted(missing)}"
    gone = set(CATALOGUE) - {r.name for r in ROUTES}
    assert not gone, f"the catalogue names URLs that no longer exist: {sorted(gone)}"
    assert len(ENTRIES) == len(CATALOGUE), "a URL name has two catalogue entries"


def test_it_knows_each_urls_family_and_methods():
    for entry in ENTRIES:
        assert entry.family, entry
        assert entry.methods, entry
        assert set(entry.methods) <= {"get", "post", "put", "patch", "delete"}, entry
        assert (entry.minimum is not None) is entry.route.in_organization, f"{entry.name}: role"


def test_it_knows_how_to_fill_every_url():
    unknown_org = {
        f"{r.name}: {kwarg}"
        for r in ORG_ROUTES
        for kwarg in r.kwargs
        if kwarg not in CATALOGUE[r.name].fillers
    }
    assert not unknown_org, f"add a filler to ORG_URL_KWARGS for {sorted(unknown_org)}"
    for route in API_ROUTES_WITH_IDS:
        assert set(CATALOGUE[route.name].fillers) == set(route.kwargs), (
            f"fill {route.name}'s {route.kwargs} in API_URLS"
        )
    for route in ROUTES:
        assert set(CATALOGUE[route.name].fillers) == set(route.kwargs), route


def test_it_finds_the_pages_and_endpoints_it_tries():
    names = {r.name for r in ROUTES}
    assert {"dashboards:account", "todos:complete", "accounts:member_role"} <= names
    assert {"api:account-detail", "api:contact-detail"} <= names
    assert len(ORG_ROUTES_WITH_IDS) >= 20


# --- another organization's ids under this organization's URLs ----------------------------


@pytest.mark.parametrize("route", ORG_ROUTES_WITH_IDS, ids=lambda r: r.name)
def test_it_answers_404_for_another_organizations_ids(route, org_a, org_b, b, owner_of_a):
    entry = CATALOGUE[route.name]
    before = _snapshot(org_b)
    statuses = {}
    for method in ("get", "post"):
        response = getattr(owner_of_a, method)(org_url(route, b, org_slug=org_a.slug))
        missing = getattr(owner_of_a, method)(org_url(route, b, org_slug=org_a.slug, missing=True))
        # Another organization's object is answered exactly as one that does not exist.
        assert response.status_code == missing.status_code, f"{method.upper()} {route.name}"
        assert response.status_code in {404, 405}, f"{method.upper()} {route.name}"
        _assert_nothing_leaked(response, f"{method.upper()} {route.name}")
        statuses[method] = response.status_code
    assert 404 in statuses.values(), f"{route.name} answered {statuses}"
    # The method the view is for looks the object up (a 405 there would prove nothing).
    assert statuses[entry.method] == 404, f"{route.name} answered {statuses}"
    assert _snapshot(org_b) == before, f"{route.name} changed organization B"
    # The control: the filler names the right kind of object (A's own is found).
    own = org_url(route, objects_of(org_a, "acme"), org_slug=org_a.slug)
    assert {owner_of_a.get(own).status_code, owner_of_a.post(own).status_code} - {404, 405}, (
        f"{route.name}: A's own object is not found either; is the filler right?"
    )


@pytest.mark.parametrize("route", ORG_ROUTES, ids=lambda r: r.name)
def test_it_answers_404_for_every_page_of_an_organization_one_is_not_a_member_of(
    route, org_b, b, owner_of_a
):
    before = _snapshot(org_b)
    url = org_url(route, b, org_slug=org_b.slug)
    for method in ("get", "post"):
        response = getattr(owner_of_a, method)(url)
        assert response.status_code == 404, f"{method.upper()} {url}"
        _assert_nothing_leaked(response, f"{method.upper()} {url}")
    assert _snapshot(org_b) == before


# --- the API: a key sees its own organization only --------------------------------------


def _key_for(organization):
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    with tenant_context(organization):
        return account_services.api_key_create(name="tests", created_by=owner)[1]


def _api(key):
    client = Client(raise_request_exception=False)
    headers = {"authorization": f"Bearer {key}"}

    def send(method, url, body=None):
        if method in {"get", "delete"}:
            return getattr(client, method)(url, headers=headers)
        return getattr(client, method)(
            url, json.dumps(body or {}), content_type="application/json", headers=headers
        )

    return send


@pytest.mark.parametrize("route", API_ROUTES_WITH_IDS, ids=lambda r: r.name)
def test_it_answers_404_for_another_organizations_ids_through_the_api(route, org_a, org_b, b):
    send = _api(_key_for(org_a))
    entry = CATALOGUE[route.name]
    url = entry.url(b)
    missing_url = entry.url(b, missing=True)
    [value] = [fill(b) for fill in entry.fillers.values()]  # B's id, also put in the body
    before = _snapshot(org_b)
    statuses = {}
    for method in ("get", "post", "put", "patch", "delete"):
        body = {"name": "Changed", "external_id": value} if method != "get" else None
        response = send(method, url, body)
        missing = send(method, missing_url, body)
        assert response.status_code == missing.status_code, f"{method.upper()} {url}"
        assert response.status_code in {404, 405}, f"{method.upper()} {url}"
        # Every method the endpoint takes looks the object up; the others are refused.
        expected = 404 if method in entry.methods else 405
        assert response.status_code == expected, f"{method.upper()} {url}"
        _assert_nothing_leaked(response, f"{method.upper()} {url}")
        statuses[method] = response.status_code
    assert statuses["get"] == 404 or statuses["post"] == 404, statuses
    assert _snapshot(org_b) == before
    # The control: the filler names the right kind of object (A's own is found).
    own = entry.url(objects_of(org_a, "acme"))
    assert {send("get", own).status_code, send("post", own).status_code} - {404, 405}, (
        f"{route.name}: A's own object is not found either; is the filler right?"
    )


@pytest.mark.parametrize(
    "route", [r for r in API_ROUTES if not r.kwargs and r.name.endswith("-list")], ids=str
)
def test_it_lists_only_the_keys_own_organization(route, org_a, org_b, b):
    response = _api(_key_for(org_a))("get", reverse(route.name))
    assert response.status_code == 200
    _assert_nothing_leaked(response, route.name)


def test_it_sees_organization_bs_data_with_bs_key_only(org_a, org_b, b):
    send = _api(_key_for(org_b))
    account = send("get", reverse("api:account-detail", kwargs={"external_id": "borealis-account"}))
    assert account.status_code == 200
    assert account.json()["name"] == "Borealis Account"
    with tenant_context(org_a):
        AccountFactory(name="Acme customer", external_id="acme-account")
    listed = send("get", reverse("api:account-list")).content.decode()
    assert "Acme customer" not in listed
    assert "Borealis Account" in listed


def test_it_refuses_a_key_that_claims_another_organization(org_a, org_b, b):
    # A key names its organization (csp_<id>_<secret>); swapping the id for A's does not
    # let B's secret in: the key is looked up inside A, where it does not exist.
    _csp, _b_id, secret = _key_for(org_b).split("_", 2)
    send = _api(f"csp_{org_a.pk}_{secret}")
    response = send("get", reverse("api:account-list"))
    assert response.status_code == 401
    _assert_nothing_leaked(response, "a forged key")


# --- another organization's ids inside a form ---------------------------------------------


def test_it_refuses_a_campaign_for_another_organizations_survey_or_audience(
    org_a, org_b, b, owner_of_a
):
    with tenant_context(org_a):
        survey = SurveyFactory(name="Acme survey")
    url = reverse("surveys:campaign_create", kwargs={"org_slug": org_a.slug})
    cases = [
        {"campaign-survey": b["campaign"].survey_id},
        {"campaign-survey": survey.pk, "campaign-audience": b["segment"].pk},
    ]
    for fields in cases:
        response = owner_of_a.post(url, {"campaign-name": "Cross-tenant", **fields})
        assert response.status_code == 400, fields
        _assert_nothing_leaked(response, f"campaign_create with {fields}")
    with tenant_context(org_a):
        assert not Campaign.objects.filter(name="Cross-tenant").exists()


def test_it_refuses_to_edit_another_organizations_benchmarks(org_a, org_b, owner_of_a):
    with tenant_context(org_b):
        theirs = benchmarks_ensure()
        before = list(Benchmark.objects.order_by("pk").values())
    with tenant_context(org_a):
        ours = benchmarks_ensure()
    data = benchmarks_post(ours)
    data["form-0-id"] = theirs[0].pk  # B's benchmark in A's formset
    data["form-0-label"] = "Changed by A"
    url = reverse("dashboards:benchmarks", kwargs={"org_slug": org_a.slug})
    response = owner_of_a.post(url, data)
    assert response.status_code == 400
    with tenant_context(org_b):
        assert list(Benchmark.objects.order_by("pk").values()) == before
