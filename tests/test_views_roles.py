"""The owner / admin / manager / viewer / outsider / anonymous matrix for every view.

Every URL under /o/<org_slug>/ must appear in ORG_VIEWS: the last test finds
them by introspection, so a new page cannot skip this matrix. A part of the
product keeps its own entries in a `tests/roles_<part>.py` module (ORG_VIEWS,
EFFECTS, url_kwargs, post_data), listed in SECTIONS.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Account, ApiKey, Invitation
from csplatform.tenancy import tenant_context
from surveys.models import Campaign, Survey
from surveys.models import Invitation as SurveyInvitation
from tests import (
    roles_account,
    roles_audit,
    roles_executive,
    roles_health,
    roles_journeys,
    roles_privacy,
    roles_revenue,
    roles_tasks,
    roles_workspace,
)
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    ContactFactory,
    ImportUploadFactory,
    InvitationFactory,
    SurveyFactory,
)

PERSONAS = ["owner", "admin", "manager", "viewer", "outsider"]
RANK = {"viewer": 0, "manager": 1, "admin": 2, "owner": 3}

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS = {
    "dashboards:home": ("get", "viewer", 200, None),  # viewers land on the executive page
    "accounts:members": ("get", "admin", 200, None),
    "accounts:invitation_create": (
        "post",
        "admin",
        302,
        {"email": "new@example.com", "role": "viewer"},
    ),
    "accounts:member_role": ("post", "admin", 302, {"role": "manager"}),
    "accounts:member_remove": ("post", "admin", 302, {}),
    "accounts:invitation_revoke": ("post", "admin", 302, {}),
    "accounts:api_keys": ("post", "admin", 200, {"name": "CRM sync"}),
    "accounts:imports": ("get", "admin", 200, None),
    "accounts:import_preview": ("get", "admin", 200, None),
    "accounts:import_confirm": ("post", "admin", 302, {}),
    "accounts:api_key_revoke": ("post", "admin", 302, {}),
    "surveys:results": ("get", "manager", 200, None),
    "surveys:campaigns": ("get", "admin", 200, None),
    "surveys:survey_create": (
        "post",
        "admin",
        302,
        {
            "survey-name": "Support CSAT",
            "survey-kind": "csat",
            "survey-question_en": "How satisfied are you with our support?",
            "survey-question_pt_br": "Qual a sua satisfação com o nosso suporte?",
            "survey-touchpoint": "support",
        },
    ),
    "surveys:campaign_create": ("post", "admin", 302, None),  # data: needs the survey's id
    "surveys:campaign_send": ("post", "admin", 302, {}),
}


SECTIONS = [
    roles_account,
    roles_audit,
    roles_executive,
    roles_health,
    roles_journeys,
    roles_privacy,
    roles_revenue,
    roles_tasks,
    roles_workspace,
]
for _section in SECTIONS:
    ORG_VIEWS.update(_section.ORG_VIEWS)


def _viewer_membership(team):
    return team.organization.memberships.filter(user=team.viewer).first()


def _invitation(team):
    with tenant_context(team.organization):
        return Invitation.objects.filter(email="pending@example.com").first()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS = {
    "accounts:invitation_create": lambda team: _open_invitation_exists(team, "new@example.com"),
    "accounts:member_role": lambda team: _viewer_membership(team).role == "manager",
    "accounts:member_remove": lambda team: _viewer_membership(team) is None,
    "accounts:invitation_revoke": lambda team: _invitation(team).revoked_at is not None,
    "accounts:api_keys": lambda team: _api_key_named(team, "CRM sync") is not None,
    "accounts:api_key_revoke": lambda team: _api_key_named(team, "old").revoked_at is not None,
    "accounts:import_confirm": lambda team: _account_exists(team, "a1"),
    "surveys:survey_create": lambda team: _exists(team, Survey, name="Support CSAT"),
    "surveys:campaign_create": lambda team: _exists(team, Campaign, name="Q4 NPS"),
    "surveys:campaign_send": lambda team: _exists(team, SurveyInvitation),
}


for _section in SECTIONS:
    EFFECTS.update(_section.EFFECTS)


def _exists(team, model, **lookup):
    with tenant_context(team.organization):
        return model.objects.filter(**lookup).exists()


def _post_data(name, team, data):
    for section in SECTIONS:
        if name in section.ORG_VIEWS:
            return section.post_data(name, team, data)
    if name == "surveys:campaign_create":
        with tenant_context(team.organization):
            survey = SurveyFactory()
        return {"campaign-survey": survey.pk, "campaign-name": "Q4 NPS"}
    return data


def _account_exists(team, external_id):
    with tenant_context(team.organization):
        return Account.objects.filter(external_id=external_id).exists()


def _api_key_named(team, name):
    with tenant_context(team.organization):
        return ApiKey.objects.filter(name=name).first()


def _open_invitation_exists(team, email):
    with tenant_context(team.organization):
        return Invitation.objects.filter(email=email).exists()


def _url(name, team):
    kwargs = {"org_slug": team.organization.slug}
    if name in {"accounts:member_role", "accounts:member_remove"}:
        kwargs["membership_id"] = _viewer_membership(team).pk
    if name in {"accounts:import_preview", "accounts:import_confirm"}:
        with tenant_context(team.organization):
            kwargs["upload_id"] = ImportUploadFactory().pk
    if name == "accounts:api_key_revoke":
        with tenant_context(team.organization):
            kwargs["api_key_id"] = ApiKeyFactory(name="old").pk
    if name == "accounts:invitation_revoke":
        with tenant_context(team.organization):
            kwargs["invitation_id"] = InvitationFactory(email="pending@example.com").pk
    if name == "surveys:campaign_send":
        with tenant_context(team.organization):
            ContactFactory()
            kwargs["campaign_id"] = CampaignFactory().pk
    for section in SECTIONS:
        if name in section.ORG_VIEWS:
            kwargs.update(section.url_kwargs(name, team))
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ORG_VIEWS)
def test_it_applies_roles_to_every_organization_view(name, persona, team, signed_in):
    method, minimum, allowed_status, data = ORG_VIEWS[name]
    url = _url(name, team)
    client = signed_in(team.user(persona))
    data = _post_data(name, team, data)
    response = client.get(url, follow=True) if method == "get" else client.post(url, data)

    allowed = persona != "outsider" and RANK[persona] >= RANK[minimum]
    if persona == "outsider":
        assert response.status_code == 404
    elif allowed:
        assert response.status_code == allowed_status
    else:
        assert response.status_code == 403
    if name in EFFECTS:
        assert EFFECTS[name](team) is allowed


@pytest.mark.parametrize("name", ORG_VIEWS)
def test_it_sends_anonymous_visitors_to_sign_in(name, team, client):
    method, _minimum, _status, data = ORG_VIEWS[name]
    url = _url(name, team)
    data = _post_data(name, team, data)
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    if name in EFFECTS:
        assert EFFECTS[name](team) is False


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


def _org_url_names(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from _org_url_names(pattern, route, ns)
        elif isinstance(pattern, URLPattern) and "<slug:org_slug>" in route:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_it_covers_every_organization_url_in_the_role_matrix():
    assert set(_org_url_names()) == set(ORG_VIEWS)


def test_it_shows_times_in_the_organizations_time_zone(team, signed_in):
    from django.utils import timezone

    response = signed_in(team.owner).get(
        reverse("accounts:members", kwargs={"org_slug": team.organization.slug})
    )
    assert response.status_code == 200
    assert response.context["TIME_ZONE"] == "America/Sao_Paulo"
    assert timezone.get_current_timezone_name() == "UTC"  # not left behind
