"""Inviting people: a real email through a real worker and SMTP server, and every bad link."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberInvitation, Membership, Role, User
from accounts.tokens import make_invitation_token
from csplatform.tenancy import tenant_context
from tests.factories import (
    MemberInvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)


def _link(message) -> str:
    body = message.get_payload()[0].get_payload(decode=True).decode()
    return re.search(r"https?://\S+(/invitations/\S+/)", body).group(1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_emails_an_invitation_that_creates_the_account_and_membership(
    celery_worker_process, inbox, client
):
    admin = MembershipFactory(role=Role.ADMIN)
    client.force_login(admin.user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        reverse("accounts:invitation_create", kwargs={"org_slug": admin.organization.slug}),
        {"email": "New.Person@Example.com", "role": Role.MANAGER},
    )
    assert response.status_code == 302

    [message] = inbox.wait_for(1)
    assert message["To"] == "new.person@example.com"
    assert admin.organization.name in message["Subject"]
    assert message.is_multipart()  # plain text and HTML
    link = _link(message)

    client.logout()
    form_page = client.get(link)
    assert form_page.status_code == 200
    assert b"Create account and join" in form_page.content
    response = client.post(
        link,
        {
            "full_name": "New Person",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert Membership.objects.get(user=user, organization=admin.organization).role == Role.MANAGER
    assert client.get(response["Location"]).status_code == 200  # signed in, inside the organization
    # The link worked once: it is spent now.
    client.logout()
    assert client.get(link).status_code == 410
    with tenant_context(admin.organization):
        assert MemberInvitation.objects.get().emailed_at is not None


@pytest.fixture
def invitation(db):
    organization = OrganizationFactory()
    with tenant_context(organization):
        return MemberInvitationFactory(email="invitee@example.com", role=Role.VIEWER)


def _token(invitation) -> str:
    return make_invitation_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )


def test_it_lets_an_existing_user_accept_after_signing_in(invitation, client):
    user = UserFactory(email="invitee@example.com")
    url = reverse("invitation_accept", args=[_token(invitation)])
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert Membership.objects.get(user=user).role == Role.VIEWER


def test_it_refuses_an_invitation_meant_for_someone_else(invitation, client):
    client.force_login(UserFactory(), backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("invitation_accept", args=[_token(invitation)])
    assert client.post(url).status_code == 403
    assert not Membership.objects.filter(organization_id=invitation.organization_id).exists()


def test_it_answers_a_tampered_token_with_a_friendly_404(invitation, client):
    token = _token(invitation)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.get(reverse("invitation_accept", args=[tampered]))
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_it_answers_a_token_forged_for_another_invitation_with_404(invitation, client):
    forged = signing.dumps({"o": invitation.organization_id, "i": invitation.pk}, salt="other")
    assert client.get(reverse("invitation_accept", args=[forged])).status_code == 404


def test_it_answers_an_expired_token_with_410(invitation, client, monkeypatch, settings):
    real_time = signing.time.time
    monkeypatch.setattr(
        signing.time, "time", lambda: real_time() - (settings.INVITATION_TTL_DAYS + 1) * 86400
    )
    token = _token(invitation)
    monkeypatch.setattr(signing.time, "time", real_time)
    response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 410
    assert b"expired" in response.content


@pytest.mark.parametrize("change", ["revoked_at", "accepted_at", "expires_at"])
def test_it_refuses_a_closed_invitation(invitation, client, change):
    with tenant_context(invitation.organization_id):
        past = timezone.now() - timedelta(minutes=1)
        setattr(invitation, change, past)
        invitation.save()
    response = client.get(reverse("invitation_accept", args=[_token(invitation)]))
    assert response.status_code == 410


def test_it_rejects_a_weak_password_on_sign_up(invitation, client):
    url = reverse("invitation_accept", args=[_token(invitation)])
    response = client.post(url, {"full_name": "X", "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert not User.objects.filter(email="invitee@example.com").exists()


def test_it_lets_only_owners_invite_owners(team, signed_in):
    url = reverse("accounts:invitation_create", kwargs={"org_slug": team.organization.slug})
    response = signed_in(team.admin).post(url, {"email": "x@example.com", "role": Role.OWNER})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    with tenant_context(team.organization):
        assert not MemberInvitation.objects.exists()


def test_it_replaces_an_open_invitation_when_reinviting(team, signed_in):
    url = reverse("accounts:invitation_create", kwargs={"org_slug": team.organization.slug})
    client = signed_in(team.owner)
    assert client.post(url, {"email": "again@example.com", "role": Role.MANAGER}).status_code == 302
    assert client.post(url, {"email": "AGAIN@example.com", "role": Role.ADMIN}).status_code == 302
    with tenant_context(team.organization):
        invitations = MemberInvitation.objects.order_by("created_at")
        assert [i.status for i in invitations] == ["revoked", "pending"]
        assert invitations.last().role == Role.ADMIN


def test_it_refuses_to_invite_an_existing_member(team, signed_in):
    url = reverse("accounts:invitation_create", kwargs={"org_slug": team.organization.slug})
    response = signed_in(team.owner).post(url, {"email": team.viewer.email, "role": Role.MANAGER})
    assert response.status_code == 400
    assert b"already a member" in response.content


def test_it_keeps_the_last_owner(team, signed_in):
    only_owner = Membership.objects.get(user=team.owner, organization=team.organization)
    url = reverse(
        "accounts:member_role",
        kwargs={"org_slug": team.organization.slug, "membership_id": only_owner.pk},
    )
    signed_in(team.owner).post(url, {"role": Role.VIEWER})
    only_owner.refresh_from_db()
    assert only_owner.role == Role.OWNER


def test_it_lets_an_admin_change_a_manager_but_not_an_owner(team, signed_in):
    client = signed_in(team.admin)
    manager = Membership.objects.get(user=team.manager, organization=team.organization)
    owner = Membership.objects.get(user=team.owner, organization=team.organization)
    for membership in (manager, owner):
        client.post(
            reverse(
                "accounts:member_role",
                kwargs={"org_slug": team.organization.slug, "membership_id": membership.pk},
            ),
            {"role": Role.VIEWER},
        )
    manager.refresh_from_db()
    owner.refresh_from_db()
    assert (manager.role, owner.role) == (Role.VIEWER, Role.OWNER)


def test_it_does_not_reach_another_organizations_member(team, signed_in):
    stranger = MembershipFactory(role=Role.MANAGER)
    url = reverse(
        "accounts:member_remove",
        kwargs={"org_slug": team.organization.slug, "membership_id": stranger.pk},
    )
    assert signed_in(team.owner).post(url).status_code == 404
    assert Membership.objects.filter(pk=stranger.pk).exists()


def test_it_does_not_revoke_another_organizations_invitation(team, signed_in, invitation):
    url = reverse(
        "accounts:invitation_revoke",
        kwargs={"org_slug": team.organization.slug, "invitation_id": invitation.pk},
    )
    assert signed_in(team.owner).post(url).status_code == 404
    with tenant_context(invitation.organization_id):
        assert MemberInvitation.objects.get(pk=invitation.pk).is_open
