from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Role
from csplatform.permissions import request_has_role
from dashboards.workspace_views import workspace


def home(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's start page: the CS workspace, or the board's dashboard for viewers."""
    if not request_has_role(request, Role.MANAGER):
        return redirect("dashboards:executive", org_slug=org_slug)
    return workspace(request, org_slug=org_slug)
