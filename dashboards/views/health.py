"""Health pages: the portfolio by band and each account's score explained (manager
and up); the health model with a preview of band changes, and the back-test (admin
and up). They read stored snapshots; only the back-test computes, on demand."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.http import OrganizationRequest
from accounts.models import Account, Role
from accounts.permissions import admin_required, manager_required, request_has_role
from csplatform.clock import organization_today
from csplatform.http import render_page
from dashboards.charts import health_mix_chart, health_trend_chart
from dashboards.forms.health import HealthModelForm
from journeys.models import StageTransition, Todo, TodoStatus
from journeys.selectors import lifecycle_stage_list
from metrics import health_selectors as selectors
from metrics.backtest import backtest, backtest_frame
from metrics.health.backfill import health_backfill_progress
from metrics.health.model import Model, health_model_update
from metrics.health.scoring import FLAG_ENGAGED_NO_RESULTS, FLAG_HAPPY_UNENGAGED
from metrics.models import HealthBand


def account_trend_context(account_id: int) -> dict[str, Any]:
    """The account's score over the last year as a chart with the band thresholds, and
    when its earlier days were computed afterwards (for the note under it)."""
    since = organization_today() - timedelta(days=selectors.TREND_DAYS)
    trend = selectors.health_trend(account_id=account_id, since=since)
    stored = selectors.health_model_get()
    return {
        "trend_chart": health_trend_chart(
            trend, healthy_from=stored.healthy_from, at_risk_below=stored.at_risk_below
        ),
        "trend_backfilled_at": trend.backfilled_at,
    }


def history_context(day: date) -> dict[str, Any]:
    """The organization's health history: its backfill's progress while it runs, and
    when the days shown were computed afterwards."""
    progress = health_backfill_progress()
    return {
        "history_progress": progress if progress is not None and progress.running else None,
        "history_backfilled_at": selectors.health_backfilled_at(
            since=day - timedelta(days=selectors.TREND_DAYS)
        ),
    }


@manager_required
@require_http_methods(["GET"])
def health(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    day = selectors.health_latest_day()
    band = request.GET.get("band", "")
    if band not in HealthBand.values:
        band = ""
    context: dict[str, Any] = {"day": day, "band": band}
    if day is not None:
        snapshots = selectors.health_snapshot_list(day=day, band=band or None)
        counts = selectors.health_band_counts(day)
        context["mix_chart"] = health_mix_chart(
            selectors.health_mix_by_day(since=day - timedelta(days=selectors.TREND_DAYS))
        )
        context.update(history_context(day))
        context["mix"] = [(value, label, counts[value]) for value, label in HealthBand.choices]
        context["total"] = sum(counts.values())
        context["page"] = Paginator(snapshots, 50).get_page(request.GET.get("page"))
    return render(request, "dashboards/health/portfolio.html", context)


@manager_required
@require_http_methods(["GET"])
def account_health(request: OrganizationRequest, org_slug: str, account_id: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=account_id)
    view = selectors.account_health(account_id=account.pk)
    todos = Todo.objects.filter(account=account, status=TodoStatus.OPEN).order_by("due_on")
    stages = lifecycle_stage_list()
    names = {s.key: s.name(translation.get_language() or "en") for s in stages}
    transitions = [
        (t, names.get(t.from_stage, t.from_stage), names.get(t.to_stage, t.to_stage))
        for t in StageTransition.objects.filter(account=account)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")[:10]
    ]
    return render(
        request,
        "dashboards/health/account.html",
        {
            "account": account,
            "health": view,
            "todos": todos,
            "stages": stages,
            "time_to_value": selectors.account_time_to_value(
                account_id=account.pk, today=organization_today()
            ),
            "transitions": transitions,
            "flag_happy_unengaged": FLAG_HAPPY_UNENGAGED,
            "flag_engaged_no_results": FLAG_ENGAGED_NO_RESULTS,
            **account_trend_context(account.pk),
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def health_model_edit(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    stored = selectors.health_model_get()
    if request.method == "GET":
        form = HealthModelForm(initial=HealthModelForm.initial_from(stored))
        return render(request, "dashboards/health/model.html", {"form": form})
    form = HealthModelForm(request.POST)
    if not form.is_valid():
        if request.htmx and request.POST.get("action") != "save":
            # The preview shows the errors where it would show the bands: htmx swaps
            # only a 2xx answer, and a 400 would leave the last preview standing.
            return render_page(
                request, "dashboards/health/model.html", {"form": form}, partial="band_changes"
            )
        return render(request, "dashboards/health/model.html", {"form": form}, status=400)
    if request.POST.get("action") == "save":
        health_model_update(model=form.model(), by=request.user)
        messages.success(
            request, _("Health model saved. Scores are recomputed with it in a minute.")
        )
        return redirect("dashboards:health_model", org_slug=org_slug)
    context = {"form": form, "changes": selectors.health_band_changes(form.model())}
    # The form swaps the preview.
    return render_page(request, "dashboards/health/model.html", context, partial="band_changes")


@manager_required
@require_http_methods(["GET"])
def health_backtest(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The back-test of the current model; an admin can also try other settings on it
    (the model's controls). A manager reads it only: no controls, no proposal."""
    stored = selectors.health_model_get()
    current = Model.of(stored)
    # Computed on demand from the source data (a fixed number of queries per month).
    frame = backtest_frame(model=current, today=organization_today())
    may_edit = request_has_role(request, Role.ADMIN)
    form = None
    proposal = None
    if may_edit:
        initial = HealthModelForm.initial_from(stored)
        bound = request.GET if "healthy_from" in request.GET else None
        form = HealthModelForm(bound, initial=initial)
        if form.is_bound and form.is_valid():
            proposal = backtest(frame, form.model())
    return render(
        request,
        "dashboards/health/backtest.html",
        {"form": form, "current": backtest(frame, current), "proposal": proposal},
    )
