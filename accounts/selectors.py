"""Reads shared by views and tasks."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import MemberInvitation, Membership
from accounts.tenancy import current_organization


def membership_list() -> QuerySet[Membership]:
    """The current organization's members with their users, by email."""
    # Membership is the tenancy's own table (read before a tenant is entered), not a
    # TenantModel, so it is the one place that names the organization explicitly.
    return (
        Membership.objects.filter(organization=current_organization())
        .select_related("user")
        .order_by("user__email")
    )


def membership_get(membership_id: int) -> Membership:
    """One member of the current organization; another organization's is a 404."""
    return get_object_or_404(membership_list(), pk=membership_id)


def invitation_open_list() -> QuerySet[MemberInvitation]:
    """The current organization's invitations not yet accepted or revoked, newest first."""
    return MemberInvitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("-created_at")
