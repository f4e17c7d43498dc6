"""The URL catalogue's entries for the organization's settings: members, invitations,
imports and API keys (see tests/url_catalogue.py)."""

from accounts.models import Account, ApiKey, MemberInvitation
from csplatform.tenancy import tenant_context
from tests.factories import ApiKeyFactory, ImportUploadFactory, MemberInvitationFactory

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
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
}


def _in(team, query):
    with tenant_context(team.organization):
        return query()


def _viewer_membership(team):
    return team.organization.memberships.filter(user=team.viewer).first()


def _pending_invitation(team):
    return _in(team, lambda: MemberInvitation.objects.filter(email="pending@example.com").first())


def _api_key_named(team, name):
    return _in(team, lambda: ApiKey.objects.filter(name=name).first())


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {
    "accounts:invitation_create": lambda team: _in(
        team, lambda: MemberInvitation.objects.filter(email="new@example.com").exists()
    ),
    "accounts:member_role": lambda team: _viewer_membership(team).role == "manager",
    "accounts:member_remove": lambda team: _viewer_membership(team) is None,
    "accounts:invitation_revoke": lambda team: _pending_invitation(team).revoked_at is not None,
    "accounts:api_keys": lambda team: _api_key_named(team, "CRM sync") is not None,
    "accounts:api_key_revoke": lambda team: _api_key_named(team, "old").revoked_at is not None,
    "accounts:import_confirm": lambda team: _in(
        team, lambda: Account.objects.filter(external_id="a1").exists()
    ),
}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name in {"accounts:member_role", "accounts:member_remove"}:
        return {"membership_id": _viewer_membership(team).pk}
    with tenant_context(team.organization):
        if name in {"accounts:import_preview", "accounts:import_confirm"}:
            return {"upload_id": ImportUploadFactory().pk}
        if name == "accounts:api_key_revoke":
            return {"api_key_id": ApiKeyFactory(name="old").pk}
        if name == "accounts:invitation_revoke":
            return {"invitation_id": MemberInvitationFactory(email="pending@example.com").pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    return data
