from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Role
from csplatform.permissions import manager_required, request_has_role, viewer_required


def home(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's start page: the CS workspace, or the board's dashboard for viewers."""
    if not request_has_role(request, Role.MANAGER):
        return redirect("dashboards:executive", org_slug=org_slug)
    return workspace(request, org_slug=org_slug)


@manager_required
def workspace(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "dashboards/workspace.html")


@viewer_required
def executive(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "dashboards/executive.html")
