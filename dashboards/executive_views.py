"""The board's read-only executive dashboard (the only page a viewer sees)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from csplatform.permissions import viewer_required


@viewer_required
def executive(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "dashboards/executive.html")
