"""The board's read-only executive dashboard (the only page a viewer sees), and the
benchmarks it compares against (admin and up). Both read stored results only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import OrganizationRequest
from accounts.permissions import admin_required, viewer_required
from dashboards.executive import executive_summary, period_choices
from dashboards.forms.executive import BenchmarkFormSet
from dashboards.models import Benchmark
from dashboards.services import benchmark_list, benchmarks_ensure, benchmarks_update


@viewer_required
@require_http_methods(["GET"])
def executive(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    choices = period_choices()
    asked = request.GET.get("period", "")
    period = choices.find(asked) if asked else None
    context: dict[str, Any] = {
        "choices": choices,
        "unknown_period": bool(asked) and period is None,
        "asked": asked,
    }
    period = period or choices.default
    if period is not None:
        benchmarks = benchmark_list()
        context["summary"] = executive_summary(period=period, benchmarks=benchmarks)
        context["benchmarks"] = benchmarks
    return render(request, "dashboards/executive.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def benchmarks(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    # The organization's were created with it (dashboards.apps); a GET only reads them.
    queryset = Benchmark.objects.order_by("pk")  # the defaults were created in page order
    if request.method == "GET":
        formset = BenchmarkFormSet(queryset=queryset)
        return render(request, "dashboards/benchmarks.html", {"formset": formset})
    benchmarks_ensure()
    formset = BenchmarkFormSet(request.POST, queryset=queryset)
    if not formset.is_valid():
        return render(request, "dashboards/benchmarks.html", {"formset": formset}, status=400)
    benchmarks_update(formset=formset, actor=request.user)
    messages.success(request, _("Benchmarks saved."))
    return redirect("dashboards:benchmarks", org_slug=org_slug)
