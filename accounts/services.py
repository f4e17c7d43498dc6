"""Writes on organizations, users, memberships and invitations.

Each service is keyword-only, runs in one transaction, and assumes the
caller checked the actor's role (views do that with accounts.permissions).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import (
    Account,
    ApiKey,
    AuditEvent,
    MemberInvitation,
    Membership,
    Note,
    Organization,
    Role,
    User,
    normalize_email,
    role_at_least,
)
from accounts.signals import organization_created
from accounts.tenancy import current_organization
from accounts.tokens import make_invitation_token
from csplatform import bounds
from csplatform.mail import email_build
from csplatform.tasks import enqueue_on_commit
from csplatform.tenancy import tenant_context


@transaction.atomic
def organization_create(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    currency: str = "USD",
    time_zone: str = "UTC",
    default_locale: str = "en",
) -> Organization:
    """Create an organization and make `owner_email` its owner (creating the user if new).

    A new user without a password gets an unusable one and signs in after a
    password reset. Raises ValidationError naming the bad field.
    """
    organization = Organization(
        slug=slug,
        name=name,
        currency=currency.upper(),
        time_zone=time_zone,
        default_locale=default_locale,
    )
    organization.full_clean()
    organization.save()
    user = user_get_or_create(email=owner_email, password=owner_password)
    Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    organization_created.send(sender=Organization, organization=organization)
    return organization


@transaction.atomic
def organization_update(
    *, organization: Organization, values: Mapping[str, Any], actor: User | None
) -> dict[str, dict[str, Any]]:
    """Set already-validated `values` (field name → value) on `organization`, and record
    what changed in the audit log (nothing when nothing changed). A change of the
    reporting currency once it is in use raises ValidationError (Organization.
    currency_change_check) and writes nothing.

    Returns {field: {"old": …, "new": …}} for the fields that changed. The old values
    are read from the locked row, not from `organization`, which a ModelForm may have
    changed in memory while validating.
    """
    stored = Organization.objects.select_for_update().get(pk=organization.pk)
    changed = {
        field: {"old": getattr(stored, field), "new": value}
        for field, value in values.items()
        if getattr(stored, field) != value
    }
    if not changed:
        return changed
    if "currency" in changed:
        # The form's validation may not have run the model's clean(): the reporting
        # currency is guarded here too, against the locked row, before anything is set.
        stored.currency = changed["currency"]["new"]
        stored.currency_change_check(old=changed["currency"]["old"])
    for field, change in changed.items():
        setattr(organization, field, change["new"])
    organization.save(update_fields=list(changed))
    audit_record(
        AuditEvent.Action.ORGANIZATION_UPDATED,
        actor=actor,
        target=organization.slug,
        details={"changed": changed},
        organization=organization,
    )
    return changed


def user_get_or_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    """The user with this email, created if absent (with `password`, else an unusable one)."""
    email = normalize_email(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, full_name=full_name)
        user.full_clean(exclude=["password"])
        user.set_password(password)  # None gives an unusable password
        user.save()
    return user


def user_language_set(*, user: User, language: str) -> None:
    """Remember `language` (a code of settings.LANGUAGES) as the user's UI language."""
    if language in dict(settings.LANGUAGES):
        User.objects.filter(pk=user.pk).update(language=language)


def membership_add(*, organization: Organization, user: User, role: str) -> Membership:
    """Give `user` `role` in `organization`; an existing member keeps the higher of the two."""
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created and not role_at_least(membership.role, role):
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def _ensure_an_owner_remains(membership: Membership) -> None:
    if membership.role != Role.OWNER:
        return
    # Lock the organization row: two owners demoting each other at once must not both pass.
    Organization.objects.select_for_update().filter(pk=membership.organization_id).first()
    owners = Membership.objects.filter(organization=membership.organization, role=Role.OWNER)
    if not owners.exclude(pk=membership.pk).exists():
        raise ValidationError(
            _("An organization needs at least one owner: make someone else owner first.")
        )


def can_manage(actor: Membership, membership: Membership) -> bool:
    """Whether `actor` may change or remove `membership`: only owners touch owners."""
    return actor.has_role(Role.ADMIN) and (
        membership.role != Role.OWNER or actor.role == Role.OWNER
    )


def _ensure_can_grant(actor: Membership, role: str) -> None:
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise ValidationError(_("Only an owner can make someone an owner."))


def _ensure_owner_acts_on_owner(actor: Membership, membership: Membership, refused: str) -> None:
    """Only owners touch owners; `refused` says what was refused, in the actor's words."""
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise ValidationError(refused)


def _revoke_what_they_can_no_longer_grant(
    membership: Membership, *, role: str | None
) -> dict[str, Any]:
    """Revoke the open invitations `membership`'s user sent and the active API keys they
    created that their new `role` (None: removed) could not send or create: all of them
    below admin, the invitations to become owner below owner. Returns what was revoked,
    for the audit entry of the change (names, emails and prefixes: never a key)."""
    user_id, now = membership.user_id, timezone.now()
    with tenant_context(membership.organization):  # callers may run outside any tenant
        invitations = MemberInvitation.objects.filter(
            invited_by_id=user_id,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        )
        keys = ApiKey.objects.filter(created_by_id=user_id, revoked_at__isnull=True)
        if role is not None and role_at_least(role, Role.ADMIN):
            keys = keys.none()
            if role != Role.OWNER:
                invitations = invitations.filter(role=Role.OWNER)
            else:
                invitations = invitations.none()
        revoked_invitations = list(invitations.order_by("pk").values_list("email", flat=True))
        revoked_keys = [
            {"name": name, "prefix": prefix}
            for name, prefix in keys.order_by("pk").values_list("name", "prefix")
        ]
        invitations.update(revoked_at=now)
        keys.update(revoked_at=now)
    revoked: dict[str, Any] = {}
    if revoked_invitations:
        revoked["revoked_invitations"] = revoked_invitations
    if revoked_keys:
        revoked["revoked_api_keys"] = revoked_keys
    return revoked


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, actor: Membership
) -> dict[str, Any]:
    """Change a member's role. Only owners grant or take away ownership; one owner must remain.

    What the new role could not have done is undone: below admin, the open invitations
    the member sent and the API keys they created are revoked; below owner, their open
    invitations to become owner. The audit entry lists them, and so does the result
    (`revoked_invitations`, `revoked_api_keys`; empty when nothing was), for the person
    who made the change to be told."""
    if role not in Role.values:
        raise ValidationError(_("%(role)s is not a valid role.") % {"role": role})
    _ensure_owner_acts_on_owner(actor, membership, _("Only an owner can change an owner's role."))
    if role == Role.OWNER:
        _ensure_can_grant(actor, Role.OWNER)
    if role != Role.OWNER:
        _ensure_an_owner_remains(membership)
    old_role = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    revoked: dict[str, Any] = {}
    if old_role != role:
        revoked = _revoke_what_they_can_no_longer_grant(membership, role=role)
        audit_record(
            AuditEvent.Action.MEMBER_ROLE_CHANGED,
            actor=actor,
            target=membership.user.email,
            details={"old_role": old_role, "new_role": role, **revoked},
            organization=membership.organization,
        )
    return revoked


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> dict[str, Any]:
    """Remove a member from the organization; one owner must remain. The open
    invitations they sent and the API keys they created are revoked with them, and the
    audit entry lists them, as does the result (see membership_change_role)."""
    _ensure_owner_acts_on_owner(actor, membership, _("Only an owner can remove an owner."))
    _ensure_an_owner_remains(membership)
    organization, email, role = membership.organization, membership.user.email, membership.role
    revoked = _revoke_what_they_can_no_longer_grant(membership, role=None)
    membership.delete()
    audit_record(
        AuditEvent.Action.MEMBER_REMOVED,
        actor=actor,
        target=email,
        details={"role": role, **revoked},
        organization=organization,
    )
    return revoked


def invitation_create(*, email: str, role: str, invited_by: Membership) -> MemberInvitation:
    """Invite `email` to the current organization with `role`, and email the link on commit.

    An open invitation to the same address is revoked and replaced (a resend).
    """
    organization = current_organization()
    email = normalize_email(email)
    _ensure_can_grant(invited_by, role)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}})
    now = timezone.now()
    with transaction.atomic():
        MemberInvitation.objects.filter(
            email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = MemberInvitation.objects.create(
            email=email, role=role, invited_by=invited_by.user
        )
        audit_record(
            AuditEvent.Action.MEMBER_INVITED,
            actor=invited_by,
            target=email,
            details={"role": role, "expires_at": invitation.expires_at},
        )
        from accounts.tasks import send_invitation_email

        enqueue_on_commit(send_invitation_email, organization.pk, invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: MemberInvitation, actor: User | None = None) -> bool:
    """Revoke an open invitation (its link stops working at once); False if it was not open.

    `actor` is who revoked it, for the audit log (None: an operator's script).
    """
    if not invitation.is_open:
        return False
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        AuditEvent.Action.INVITATION_REVOKED,
        actor=actor,
        target=invitation.email,
        details={"role": invitation.role},
    )
    return True


def invitation_url(invitation: MemberInvitation) -> str:
    token = make_invitation_token(
        organization_id=invitation.organization_id, invitation_id=invitation.pk
    )
    return settings.SITE_URL + reverse("invitation_accept", args=[token])


def invitation_send_email(*, invitation_id: int) -> bool:
    """Email an open invitation's link, in the organization's language, once.

    Returns whether it sent. The row is locked and stamped in the same
    transaction, so a retried task does not send twice once this commits.
    """
    invitation = MemberInvitation.objects.select_for_update().filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_open or invitation.emailed_at is not None:
        return False
    organization = current_organization()
    email_build(
        to=invitation.email,
        language=organization.default_locale,
        subject=lambda: (
            _("You are invited to join %(organization)s on csplatform")
            % {"organization": organization.name}
        ),
        template="accounts/email/invitation",
        context={
            "organization": organization,
            "invitation": invitation,
            "inviter": invitation.invited_by,
            "url": invitation_url(invitation),
            "role_label": Role(invitation.role).label,  # lazy: in the email's language
        },
    ).send()
    invitation.emailed_at = timezone.now()
    invitation.save(update_fields=["emailed_at"])
    return True


@transaction.atomic
def invitation_accept(*, invitation: MemberInvitation, user: User) -> Membership:
    """Accept an open invitation for `user`, whose email must be the invited one."""
    if not invitation.is_open:
        raise ValidationError(_("This invitation is no longer valid."))
    if normalize_email(user.email) != normalize_email(invitation.email):
        raise ValidationError(
            _("This invitation is for %(email)s; sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    inviter_id = invitation.invited_by_id
    if invitation.role == Role.OWNER and (
        inviter_id is None
        or not Membership.objects.filter(
            organization_id=invitation.organization_id, user_id=inviter_id, role=Role.OWNER
        ).exists()
    ):
        # Ownership is granted by an owner: not by someone who has since lost that role.
        raise ValidationError(_("This invitation is no longer valid."))
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership_add(
        organization=Organization.objects.get(pk=invitation.organization_id),
        user=user,
        role=invitation.role,
    )


def invitations_purge_stale(*, older_than_days: int = 30) -> int:
    """Delete the current organization's invitations that closed over `older_than_days` ago.

    Returns how many were deleted. Idempotent: a second run deletes nothing.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    stale = MemberInvitation.objects.filter(expires_at__lt=cutoff, accepted_at__isnull=True)
    deleted, _by_model = stale.delete()
    return deleted


@transaction.atomic
def api_key_create(*, name: str, created_by: User) -> tuple[ApiKey, str]:
    """A new API key for the current organization, and the key itself: shown once, never stored."""
    from accounts.authentication import generate_key, hash_key

    key = generate_key(current_organization().pk)
    api_key = ApiKey.objects.create(
        name=name,
        prefix=key[: key.index("_", 4) + 5],
        hashed_key=hash_key(key),
        created_by=created_by,
    )
    # The name and the prefix shown on the keys page: never the key, nor its hash.
    audit_record(
        AuditEvent.Action.API_KEY_CREATED,
        actor=created_by,
        target=name,
        details={"name": name, "prefix": api_key.prefix},
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None = None) -> None:
    """Revoke a key: the next request that uses it gets a 401.

    `actor` is who revoked it, for the audit log (None: an operator's script).
    """
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            AuditEvent.Action.API_KEY_REVOKED,
            actor=actor,
            target=api_key.name,
            details={"name": api_key.name, "prefix": api_key.prefix},
        )


NOTE_MAX_CHARS = bounds.MAX_NOTE_CHARS


def note_create(*, account: Account, author: User, body: str) -> Note:
    """Add a note by `author` to `account`; the body is kept as written, without the
    blank lines around it. Raises ValidationError (field `body`) for an empty body or
    one longer than NOTE_MAX_CHARS characters."""
    body = body.replace("\r\n", "\n").strip()  # a browser sends line breaks as CRLF
    if not body:
        raise ValidationError({"body": _("Write the note before adding it.")})
    if len(body) > NOTE_MAX_CHARS:
        raise ValidationError(
            {
                "body": _("A note can have at most %(max)s characters; this one has %(length)s.")
                % {
                    "max": number_format(NOTE_MAX_CHARS, force_grouping=True),
                    "length": number_format(len(body), force_grouping=True),
                }
            }
        )
    return Note.objects.create(account=account, author=author, body=body)
