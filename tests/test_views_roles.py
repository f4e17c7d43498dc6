"""The owner / admin / manager / viewer / outsider / anonymous matrix for every view.

The pages are the URL catalogue's (tests/url_catalogue.py): every URL under
/o/<org_slug>/, found by walking the resolver, with its minimum role, method and
effect from tests/roles_<family>.py. A page without an entry fails
test_it_covers_every_organization_url_in_the_role_matrix, so none can skip this matrix.
"""

import pytest
from django.urls import reverse

from tests.url_catalogue import CATALOGUE, ORG_ENTRIES, ORG_ROUTES

PERSONAS = ["owner", "admin", "manager", "viewer", "outsider"]
RANK = {"viewer": 0, "manager": 1, "admin": 2, "owner": 3}

# url name -> (method, minimum role, status when allowed, POST data); read by
# tests/test_audit_log.py, which posts to every admin change of this matrix.
ORG_VIEWS = {e.name: (e.method, e.minimum, e.status, e.data) for e in ORG_ENTRIES}
ORG_NAMES = [e.name for e in ORG_ENTRIES]


def _url(name, team):
    return CATALOGUE[name].matrix_url(team)


def _post_data(name, team, data):
    return CATALOGUE[name].matrix_data(team)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ORG_NAMES)
def test_it_applies_roles_to_every_organization_view(name, persona, team, signed_in):
    entry = CATALOGUE[name]
    url = entry.matrix_url(team)
    client = signed_in(team.user(persona))
    data = entry.matrix_data(team)
    response = client.get(url, follow=True) if entry.method == "get" else client.post(url, data)

    allowed = persona != "outsider" and RANK[persona] >= RANK[entry.minimum]
    if persona == "outsider":
        assert response.status_code == 404
    elif allowed:
        assert response.status_code == entry.status
    else:
        assert response.status_code == 403
    if entry.effect is not None:
        assert entry.effect(team) is allowed


@pytest.mark.parametrize("name", ORG_NAMES)
def test_it_sends_anonymous_visitors_to_sign_in(name, team, client):
    entry = CATALOGUE[name]
    url = entry.matrix_url(team)
    data = entry.matrix_data(team)
    response = client.get(url) if entry.method == "get" else client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    if entry.effect is not None:
        assert entry.effect(team) is False


def test_it_answers_404_for_an_organization_that_does_not_exist(team, signed_in):
    response = signed_in(team.owner).get("/o/no-such-org/")
    assert response.status_code == 404


def test_it_shows_viewers_only_the_executive_dashboard(team, signed_in):
    response = signed_in(team.viewer).get(
        reverse("dashboards:home", kwargs={"org_slug": team.organization.slug})
    )
    assert response.status_code == 302
    assert response["Location"].endswith("/executive/")
    page = signed_in(team.viewer).get(response["Location"]).content.decode()
    assert "Members" not in page
    assert "Workspace" not in page


def test_it_covers_every_organization_url_in_the_role_matrix():
    assert {r.name for r in ORG_ROUTES} == set(ORG_VIEWS)


def test_it_knows_each_organization_urls_role_method_and_status():
    for entry in ORG_ENTRIES:
        assert entry.minimum in RANK, entry
        assert entry.methods in {("get",), ("post",)}, entry
        assert entry.status in {200, 302}, entry
        if entry.method == "post" and entry.status == 302:
            assert entry.effect is not None, f"{entry.name}: say what the POST changes (EFFECTS)"


def test_it_shows_times_in_the_organizations_time_zone(team, signed_in):
    from django.utils import timezone

    response = signed_in(team.owner).get(
        reverse("accounts:members", kwargs={"org_slug": team.organization.slug})
    )
    assert response.status_code == 200
    assert response.context["TIME_ZONE"] == "America/Sao_Paulo"
    assert timezone.get_current_timezone_name() == "UTC"  # not left behind
