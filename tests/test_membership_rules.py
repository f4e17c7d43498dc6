"""Ownership rules, enforced by the services whatever the form offers."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import ApiKey, MemberInvitation, Membership, Role
from accounts.tokens import make_invitation_token
from csplatform.tenancy import tenant_context
from tests.factories import MembershipFactory


def _membership(team, persona):
    return Membership.objects.get(organization=team.organization, user=team.user(persona))


def test_it_refuses_an_admin_who_promotes_someone_to_owner(team):
    with pytest.raises(ValidationError, match="Only an owner"):
        services.membership_change_role(
            membership=_membership(team, "manager"),
            role=Role.OWNER,
            actor=_membership(team, "admin"),
        )


def test_it_refuses_an_admin_who_removes_an_owner(team):
    with pytest.raises(ValidationError, match="Only an owner"):
        services.membership_remove(
            membership=_membership(team, "owner"), actor=_membership(team, "admin")
        )
    assert _membership(team, "owner")


def test_it_refuses_the_last_owner_who_leaves(team):
    owner = _membership(team, "owner")
    with pytest.raises(ValidationError, match="at least one owner"):
        services.membership_remove(membership=owner, actor=owner)


def test_it_lets_an_owner_hand_over_and_step_down(team):
    owner = _membership(team, "owner")
    services.membership_change_role(
        membership=_membership(team, "admin"), role=Role.OWNER, actor=owner
    )
    services.membership_change_role(membership=owner, role=Role.VIEWER, actor=owner)
    assert _membership(team, "owner").role == Role.VIEWER
    assert _membership(team, "admin").role == Role.OWNER


def test_it_refuses_an_admin_who_invites_an_owner_directly(team):
    with tenant_context(team.organization), pytest.raises(ValidationError, match="Only an owner"):
        services.invitation_create(
            email="x@example.com", role=Role.OWNER, invited_by=_membership(team, "admin")
        )


def test_it_refuses_an_owner_invitation_once_its_sender_is_no_longer_owner(team, client):
    second_owner = MembershipFactory(organization=team.organization, role=Role.OWNER)
    with tenant_context(team.organization):
        invitation = MemberInvitation.objects.create(
            email="heir@example.com", role=Role.OWNER, invited_by=second_owner.user
        )
    services.membership_change_role(
        membership=second_owner, role=Role.MANAGER, actor=_membership(team, "owner")
    )
    token = make_invitation_token(organization_id=team.organization.pk, invitation_id=invitation.pk)
    url = reverse("invitation_accept", args=[token])
    response = client.post(
        url,
        {
            "full_name": "Heir",
            "password1": "long-pass-phrase-77",
            "password2": "long-pass-phrase-77",
        },
    )
    assert response.status_code == 410
    assert not Membership.objects.filter(user__email="heir@example.com").exists()
    from accounts.models import User

    assert not User.objects.filter(email="heir@example.com").exists()  # nothing half-done


def test_it_shows_an_admin_the_owners_role_without_controls(team, signed_in):
    page = (
        signed_in(team.admin)
        .get(reverse("accounts:members", kwargs={"org_slug": team.organization.slug}))
        .content.decode()
    )
    owner_row = page[
        page.index(team.owner.email) : page.index("</tr>", page.index(team.owner.email))
    ]
    manager_row = page[
        page.index(team.manager.email) : page.index("</tr>", page.index(team.manager.email))
    ]
    assert "<select" not in owner_row
    assert "Remove" not in owner_row
    assert "<select" in manager_row
    assert "Remove" in manager_row


def test_it_says_so_when_revoking_an_invitation_that_had_expired(team, signed_in):
    from datetime import timedelta

    from django.utils import timezone

    with tenant_context(team.organization):
        invitation = MemberInvitation.objects.create(
            email="late@example.com",
            role=Role.VIEWER,
            expires_at=timezone.now() - timedelta(days=1),
        )
    url = reverse(
        "accounts:invitation_revoke",
        kwargs={"org_slug": team.organization.slug, "invitation_id": invitation.pk},
    )
    page = signed_in(team.owner).post(url, follow=True).content.decode()
    assert "had already expired or been used" in page
    with tenant_context(team.organization):
        assert MemberInvitation.objects.get(pk=invitation.pk).revoked_at is None


def test_it_says_what_was_refused_when_an_admin_changes_an_owners_role(team):
    with pytest.raises(ValidationError) as refused:
        services.membership_change_role(
            membership=_membership(team, "owner"),
            role=Role.ADMIN,
            actor=_membership(team, "admin"),
        )
    assert refused.value.messages == ["Only an owner can change an owner's role."]
    with pytest.raises(ValidationError) as refused:
        services.membership_remove(
            membership=_membership(team, "owner"), actor=_membership(team, "admin")
        )
    assert refused.value.messages == ["Only an owner can remove an owner."]
    with pytest.raises(ValidationError) as refused:
        services.membership_change_role(
            membership=_membership(team, "manager"),
            role=Role.OWNER,
            actor=_membership(team, "admin"),
        )
    assert refused.value.messages == ["Only an owner can make someone an owner."]


def _invitations_and_keys_of(team, persona):
    with tenant_context(team.organization):
        invitation = services.invitation_create(
            email=f"invited-by-{persona}@example.com",
            role=Role.VIEWER,
            invited_by=_membership(team, persona),
        )
        api_key, _key = services.api_key_create(
            name=f"{persona} sync", created_by=team.user(persona)
        )
        kept_key, _key = services.api_key_create(name="owner sync", created_by=team.owner)
    return invitation, api_key, kept_key


def _audit_details(team, action):
    from accounts.models import AuditEvent

    with tenant_context(team.organization):
        return AuditEvent.objects.get(action=action).details


def test_it_revokes_the_invitations_and_api_keys_of_a_removed_member(team):
    invitation, api_key, kept_key = _invitations_and_keys_of(team, "admin")
    services.membership_remove(
        membership=_membership(team, "admin"), actor=_membership(team, "owner")
    )
    with tenant_context(team.organization):
        assert not MemberInvitation.objects.get(pk=invitation.pk).is_open
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
        assert ApiKey.objects.get(pk=kept_key.pk).revoked_at is None
    details = _audit_details(team, "member.removed")
    assert details["revoked_invitations"] == [invitation.email]
    assert details["revoked_api_keys"] == [{"name": "admin sync", "prefix": api_key.prefix}]


def test_it_revokes_them_when_an_admin_is_demoted_below_admin_and_not_otherwise(team):
    invitation, api_key, kept_key = _invitations_and_keys_of(team, "admin")
    services.membership_change_role(
        membership=_membership(team, "admin"), role=Role.MANAGER, actor=_membership(team, "owner")
    )
    with tenant_context(team.organization):
        assert not MemberInvitation.objects.get(pk=invitation.pk).is_open
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
        assert ApiKey.objects.get(pk=kept_key.pk).revoked_at is None
    details = _audit_details(team, "member.role_changed")
    assert (details["old_role"], details["new_role"]) == ("admin", "manager")
    assert details["revoked_invitations"] == [invitation.email]
    assert details["revoked_api_keys"] == [{"name": "admin sync", "prefix": api_key.prefix}]

    # An owner who becomes admin can still invite and create keys: only the invitations
    # to become owner, which an admin could not send, are revoked.
    second_owner = MembershipFactory(organization=team.organization, role=Role.OWNER)
    with tenant_context(team.organization):
        theirs, _key = services.api_key_create(name="second", created_by=second_owner.user)
        to_owner, to_admin = (
            services.invitation_create(
                email=f"{role}@example.com", role=role, invited_by=second_owner
            )
            for role in (Role.OWNER, Role.ADMIN)
        )
    services.membership_change_role(
        membership=second_owner, role=Role.ADMIN, actor=_membership(team, "owner")
    )
    with tenant_context(team.organization):
        assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
        assert not MemberInvitation.objects.get(pk=to_owner.pk).is_open
        assert MemberInvitation.objects.get(pk=to_admin.pk).is_open


@pytest.mark.parametrize("change", ["remove", "demote"])
def test_it_names_the_revoked_keys_and_invitations_to_whoever_made_the_change(
    team, signed_in, change
):
    invitation, api_key, _kept = _invitations_and_keys_of(team, "admin")
    admin = _membership(team, "admin")
    slug = team.organization.slug
    client = signed_in(team.owner)
    if change == "remove":
        url = reverse("accounts:member_remove", args=[slug, admin.pk])
        response = client.post(url, follow=True)
    else:
        url = reverse("accounts:member_role", args=[slug, admin.pk])
        response = client.post(url, {"role": Role.VIEWER}, follow=True)
    page = response.content.decode()
    assert f"admin sync ({api_key.prefix}…) was revoked" in page
    assert f"invitation to {invitation.email} was revoked" in page
