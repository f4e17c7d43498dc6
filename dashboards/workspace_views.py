"""The CS manager's workspace (dashboards:home for managers)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from csplatform.permissions import manager_required


@manager_required
def workspace(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "dashboards/workspace.html")
