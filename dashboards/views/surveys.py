"""The managers' side: survey results (manager and up) and campaigns (admin and up)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import OrganizationRequest
from accounts.permissions import admin_required, manager_required
from csplatform.http import render_page
from dashboards.charts.satisfaction import satisfaction_charts
from journeys.selectors import lifecycle_stage_list
from metrics import selectors as metrics_selectors
from metrics.satisfaction import MARGIN_MIN_ANSWERS
from surveys import campaign_services, selectors
from surveys.forms import CampaignForm, SurveyForm
from surveys.models import Campaign, SkipReason, Survey, SurveyKind, SurveyTouchpoint
from surveys.sending import StillSending


@manager_required
@require_http_methods(["GET"])
def results(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    kind = request.GET.get("kind", SurveyKind.NPS)
    if kind not in SurveyKind.values:
        kind = SurveyKind.NPS
    search = request.GET.get("q", "").strip()[:200]
    page = Paginator(selectors.verbatims(kind, search), 20).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"kind": kind, "search": search, "verbatims": page}
    if request.htmx:  # the search box swaps the verbatims
        return render_page(request, "surveys/manage/results.html", context, partial="verbatims")
    months = metrics_selectors.satisfaction_months(kind)
    latest = months[-1] if months else None
    breakdown = metrics_selectors.satisfaction_breakdown(kind, latest.month) if latest else {}
    # A group of the breakdown is a stored key (a stage's, a touchpoint's): show its name
    # in the reader's language; a segment is what people typed.
    names = {
        "lifecycle_stage": {
            stage.key: stage.name(translation.get_language() or "en")
            for stage in lifecycle_stage_list()
        },
        "touchpoint": {str(value): str(label) for value, label in SurveyTouchpoint.choices},
    }
    for dimension, rows in breakdown.items():
        for row in rows:
            row.label = names.get(dimension, {}).get(row.key, row.key)  # type: ignore[attr-defined]
    context.update(
        {
            "kinds": SurveyKind.choices,
            "months": months,
            "latest": latest,
            "passives": None
            if latest is None or latest.high is None or kind != SurveyKind.NPS
            else 100 - latest.high - (latest.low or 0),
            "breakdown": breakdown,
            "charts": satisfaction_charts(months, breakdown, kind),
            "margin_min_answers": MARGIN_MIN_ANSWERS,
            "campaigns": selectors.campaign_rates(),
        }
    )
    return render(request, "surveys/manage/results.html", context)


@admin_required
@require_http_methods(["GET"])
def campaigns(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    return _campaigns_page(request, SurveyForm(prefix="survey"), CampaignForm(prefix="campaign"))


def _campaigns_page(
    request: OrganizationRequest,
    survey_form: SurveyForm,
    campaign_form: CampaignForm,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "surveys/manage/campaigns.html",
        {
            "surveys": Survey.objects.order_by("name"),
            "campaigns": selectors.campaign_rates(),
            "survey_form": survey_form,
            "campaign_form": campaign_form,
        },
        status=status,
    )


@admin_required
@require_POST
def survey_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = SurveyForm(request.POST, prefix="survey")
    if not form.is_valid():
        return _campaigns_page(request, form, CampaignForm(prefix="campaign"), status=400)
    survey = campaign_services.survey_create(survey=form.save(commit=False), actor=request.user)
    messages.success(request, _("Survey “%(name)s” created.") % {"name": survey.name})
    return redirect("surveys:campaigns", org_slug=org_slug)


@admin_required
@require_POST
def campaign_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = CampaignForm(request.POST, prefix="campaign")
    if not form.is_valid():
        return _campaigns_page(request, SurveyForm(prefix="survey"), form, status=400)
    campaign = campaign_services.campaign_create(
        campaign=form.save(commit=False), actor=request.user
    )
    messages.success(request, _("Campaign “%(name)s” created.") % {"name": campaign.name})
    # Who it will reach, before anything is sent (a scheduled one too).
    return redirect("surveys:campaign_preview", org_slug=org_slug, campaign_id=campaign.pk)


def _preview_page(
    request: OrganizationRequest, campaign: Campaign, *, notice: str = "", status: int = 200
) -> HttpResponse:
    """The send preview: who would be emailed and every exclusion with its count, from
    the same planning as the send (campaign_send_start's dry run)."""
    context: dict[str, Any] = {"campaign": campaign, "notice": notice}
    try:
        plan = campaign_services.campaign_preview(campaign=campaign)
    except StillSending as still:
        context["still_sending"] = " ".join(still.messages)
    else:
        context.update(
            {
                "plan": plan,
                "exclusions": [
                    (reason.label, plan.skipped.get(reason.value, 0))
                    for reason in SkipReason
                    if reason != SkipReason.REFUSED
                ],
            }
        )
    return render(request, "surveys/manage/send_preview.html", context, status=status)


@admin_required
@require_http_methods(["GET"])
def campaign_preview(request: OrganizationRequest, org_slug: str, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(
        Campaign.objects.select_related("survey", "audience"), pk=campaign_id
    )
    return _preview_page(request, campaign)


@admin_required
@require_POST
def campaign_send(request: OrganizationRequest, org_slug: str, campaign_id: int) -> HttpResponse:
    """The confirmation of a preview: sends only what the preview (its fingerprint)
    showed; a changed audience shows the new preview instead, and a preview confirmed
    twice sends once."""
    campaign = get_object_or_404(
        Campaign.objects.select_related("survey", "audience"), pk=campaign_id
    )
    fingerprint = request.POST.get("fingerprint", "")
    if not fingerprint:
        return _preview_page(
            request, campaign, notice=_("Check who will be emailed, then confirm."), status=400
        )
    try:
        plan = campaign_services.campaign_send(
            campaign=campaign, actor=request.user, fingerprint=fingerprint
        )
    except campaign_services.AudienceChanged as changed:
        return _preview_page(request, campaign, notice=" ".join(changed.messages), status=409)
    except (StillSending, campaign_services.NobodyToEmail) as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("surveys:campaign_preview", org_slug=org_slug, campaign_id=campaign.pk)
    skipped = "; ".join(
        f"{count} — {SkipReason(reason).label}" for reason, count in sorted(plan.skipped.items())
    )
    messages.success(
        request,
        _("Sending “%(name)s” to %(count)s contacts.")
        % {"name": campaign.name, "count": plan.pending}
        + (" " + _("Skipped: %(reasons)s") % {"reasons": skipped} if skipped else ""),
    )
    return redirect("surveys:campaigns", org_slug=org_slug)
