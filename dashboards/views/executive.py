"""The board's read-only executive dashboard (the only page a viewer sees), and the
benchmarks it compares against (admin and up). Both read stored results only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts import fx
from accounts.http import OrganizationRequest
from accounts.models import Role
from accounts.permissions import admin_required, request_has_role, viewer_required
from dashboards.board_pack import board_pack_context, board_pack_filename, board_pack_pdf
from dashboards.executive import Period, executive_summary, period_choices
from dashboards.forms.executive import BenchmarkFormSet
from dashboards.models import Benchmark
from dashboards.services import benchmark_list, benchmarks_ensure, benchmarks_update


def _asked_period(request: OrganizationRequest) -> tuple[dict[str, Any], Period | None]:
    """The `period` asked for (else the latest complete month) and the context saying
    whether an unknown one was asked."""
    choices = period_choices()
    asked = request.GET.get("period", "")
    period = choices.find(asked) if asked else None
    context: dict[str, Any] = {
        "choices": choices,
        "unknown_period": bool(asked) and period is None,
        "asked": asked,
    }
    return context, period or choices.default


@viewer_required
@require_http_methods(["GET"])
def executive(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    context, period = _asked_period(request)
    # Board viewers see how many subscriptions lack a rate, per currency; the accounts'
    # names (often a person's, from the billing system) are for managers and up.
    context.update(fx.missing_rates_context(named=request_has_role(request, Role.MANAGER)))
    if period is not None:
        benchmarks = benchmark_list()
        summary = executive_summary(period=period, benchmarks=benchmarks)
        context.update(board_pack_context(summary=summary, benchmarks=benchmarks))
    return render(request, "dashboards/executive.html", context)


@viewer_required
@require_http_methods(["GET"])
def board_pack(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The executive dashboard of the asked period as a PDF (the board pack), in the
    reader's language; without stored figures, the page's empty state."""
    context, period = _asked_period(request)
    benchmarks = benchmark_list()
    summary = None if period is None else executive_summary(period=period, benchmarks=benchmarks)
    pdf = board_pack_pdf(
        summary=summary, benchmarks=benchmarks, language=get_language(), extra=context
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = board_pack_filename(period)
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


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
