"""Private responses say `Cache-Control: private, no-store`: no shared cache (a corporate
proxy, a CDN) may keep them, and no browser may write them to disk, where the next person
on the machine could read a dashboard, a new API key or an export from the cache.
(csplatform.http.PrivateCacheControlMiddleware)"""

import pytest
from django.urls import reverse

from csplatform.tenancy import tenant_context
from surveys.tokens import make_answer_token
from tests.factories import AccountFactory, ContactFactory, SurveyInvitationFactory
from tests.test_api import Api, _key_for

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"


def _directives(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


def _is_private(response) -> bool:
    return {"private", "no-store"} <= _directives(response)


def test_it_keeps_dashboards_out_of_caches(team, signed_in):
    client = signed_in(team.manager)
    slug = team.organization.slug
    for path in (f"/o/{slug}/", f"/o/{slug}/accounts/", f"/o/{slug}/revenue/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == PRIVATE, path


def test_it_keeps_the_page_that_shows_a_new_api_key_out_of_caches(team, signed_in):
    client = signed_in(team.admin)
    response = client.post(
        reverse("accounts:api_keys", kwargs={"org_slug": team.organization.slug}),
        {"name": "CRM sync"},
    )
    assert response.status_code == 200
    assert "csp_" in response.content.decode()
    assert response["Cache-Control"] == PRIVATE


def test_it_keeps_csv_exports_out_of_caches(team, signed_in):
    with tenant_context(team.organization):
        AccountFactory()
    response = signed_in(team.manager).get(
        reverse("dashboards:accounts_csv", kwargs={"org_slug": team.organization.slug})
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == PRIVATE


def test_it_keeps_the_export_zip_out_of_caches(team, signed_in):
    response = signed_in(team.owner).post(
        reverse("accounts:organization_export", kwargs={"org_slug": team.organization.slug})
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == PRIVATE


def test_it_keeps_the_public_survey_page_out_of_caches(client, team):
    with tenant_context(team.organization):
        invitation = SurveyInvitationFactory(contact=ContactFactory(locale="en"))
    token = make_answer_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )
    response = client.get(reverse("public_surveys:answer", args=[token]) + "?score=9")
    assert response.status_code == 200
    assert _is_private(response)


def test_it_keeps_api_answers_out_of_caches(team):
    api = Api(_key_for(team.organization)[1])
    assert api.get("accounts/")["Cache-Control"] == PRIVATE


def test_it_keeps_a_signed_in_persons_pages_outside_organizations_out_of_caches(team, signed_in):
    assert signed_in(team.manager).get(reverse("organization_list"))["Cache-Control"] == PRIVATE


def test_it_keeps_a_cache_control_a_view_set_itself(client, db):
    response = client.get(reverse("healthz"))
    assert "no-cache" in _directives(response)  # never_cache's, left as it was
    assert _is_private(response)
