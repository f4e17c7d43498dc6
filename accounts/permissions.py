"""Role checks, in one place.

Roles are ordered owner > admin > manager > viewer. The tenant middleware has
already turned a non-member into a 404; these checks turn a member whose role
is too low into a 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import Role

type View = Callable[..., HttpResponse]


def request_has_role(request: HttpRequest, minimum: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.has_role(minimum)


def role_flags(request: HttpRequest) -> dict[str, bool]:
    """What the member may open, for templates (which never compare role names themselves)."""
    return {
        "use_workspace": request_has_role(request, Role.MANAGER),
        "manage_members": request_has_role(request, Role.ADMIN),
        "view_executive": request_has_role(request, Role.VIEWER),
    }


def role_required(minimum: Role) -> Callable[[View], View]:
    """Decorate a view under /o/<org_slug>/ so only members with at least `minimum` run it."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if getattr(request, "organization", None) is None:
                raise RuntimeError(
                    f"{view.__name__} uses role_required but is not under /o/<org_slug>/."
                )
            if not request_has_role(request, minimum):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.minimum_role = minimum  # type: ignore[attr-defined]
        return wrapper

    return decorator


manager_required = role_required(Role.MANAGER)
admin_required = role_required(Role.ADMIN)
viewer_required = role_required(Role.VIEWER)
