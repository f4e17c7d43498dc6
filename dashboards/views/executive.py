"""The board's read-only executive dashboard (the only page a viewer sees), and the
benchmarks it compares against (admin and up). Both read stored results only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.audit import audit_record
from accounts.models import AuditEvent
from accounts.permissions import admin_required, viewer_required
from dashboards.executive import executive_summary, period_choices
from dashboards.forms.executive import BenchmarkFormSet
from dashboards.models import Benchmark
from dashboards.services import benchmarks_ensure


@viewer_required
@require_http_methods(["GET"])
def executive(request: HttpRequest, org_slug: str) -> HttpResponse:
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
        benchmarks = benchmarks_ensure()
        context["summary"] = executive_summary(period=period, benchmarks=benchmarks)
        context["benchmarks"] = benchmarks
    return render(request, "dashboards/executive.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def benchmarks(request: HttpRequest, org_slug: str) -> HttpResponse:
    benchmarks_ensure()
    queryset = Benchmark.objects.order_by("pk")  # the defaults were created in page order
    if request.method == "GET":
        formset = BenchmarkFormSet(queryset=queryset)
        return render(request, "dashboards/benchmarks.html", {"formset": formset})
    formset = BenchmarkFormSet(request.POST, queryset=queryset)
    if not formset.is_valid():
        return render(request, "dashboards/benchmarks.html", {"formset": formset}, status=400)
    changed = {
        form.instance.metric: {
            field: {"old": form.initial.get(field), "new": form.cleaned_data.get(field)}
            for field in form.changed_data
        }
        for form in formset.forms
        if form.has_changed()
    }
    formset.save()
    if changed:
        audit_record(
            AuditEvent.Action.BENCHMARKS_UPDATED,
            actor=request.user,  # type: ignore[arg-type]
            details={"changed": changed},
        )
    messages.success(request, _("Benchmarks saved."))
    return redirect("dashboards:benchmarks", org_slug=org_slug)
