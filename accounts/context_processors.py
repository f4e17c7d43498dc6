from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.permissions import role_flags


def tenant(request: HttpRequest) -> dict[str, Any]:
    """The current organization and membership, and (lazily) the user's others for the switcher."""
    user = getattr(request, "user", None)

    def memberships() -> list[Any]:
        if user is None or not user.is_authenticated:
            return []
        return list(
            user.memberships.select_related("organization")
            .filter(organization__is_active=True)
            .order_by("organization__name")
        )

    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
        "user_memberships": SimpleLazyObject(memberships),
        "can": role_flags(request),
    }
