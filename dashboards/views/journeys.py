"""The journey pages: the map (manager and up), its stages and the value and adoption
settings (admin and up), and moving an account to another stage (manager and up)."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import OrganizationRequest
from accounts.models import Account
from accounts.permissions import admin_required, manager_required
from csplatform.http import render_page
from journeys import selectors, services
from journeys.forms import (
    USAGE_EVENT_LIST,
    AccountStageForm,
    CoreFeatureForm,
    LifecycleStageForm,
    LifecycleStageRenameForm,
    TouchpointTypePlaceForm,
    ValueMilestoneForm,
)
from journeys.models import CoreFeature, LifecycleStage, TouchpointType, ValueMilestone
from metrics import selectors as metrics_selectors


def _language() -> str:
    return get_language() or "en"


# --- the map ------------------------------------------------------------------------------


@manager_required
@require_http_methods(["GET"])
def journey_map(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    stage_times = selectors.stage_time_list()
    context = {
        "journey": selectors.journey_map_get(),
        "stage_times": stage_times,
        "has_history": any(t.completed_stays or t.current_stays for t in stage_times),
        "adoption": metrics_selectors.adoption_latest_get(),
        "cohorts": metrics_selectors.time_to_value_cohort_list(),
    }
    return render(request, "journeys/map.html", context)


# --- stages -------------------------------------------------------------------------------


DIRECTIONS: dict[str, Literal["up", "down"]] = {"up": "up", "down": "down"}


def _rename_form(stage: LifecycleStage, data: Any = None) -> LifecycleStageRenameForm:
    return LifecycleStageRenameForm(data, instance=stage, prefix=f"stage-{stage.pk}")


def _stages_context(
    *,
    create_form: LifecycleStageForm | None = None,
    invalid: LifecycleStageRenameForm | None = None,
) -> dict[str, Any]:
    # The organization's stages were created with it (journeys.apps): a GET only reads.
    stages = selectors.lifecycle_stage_list()
    accounts = selectors.account_count_by_stage()
    language = _language()
    rows = [
        {
            "stage": stage,
            "rename_form": invalid
            if invalid is not None and invalid.instance.pk == stage.pk
            else _rename_form(stage),
            "accounts": accounts.get(stage.key, 0),
            "first": index == 0,
            "last": index == len(stages) - 1,
        }
        for index, stage in enumerate(stages)
    ]
    types = [
        (
            touchpoint_type,
            TouchpointTypePlaceForm(
                initial={"lifecycle_stage": touchpoint_type.lifecycle_stage},
                stages=stages,
                language=language,
                prefix=f"type-{touchpoint_type.pk}",
            ),
        )
        for touchpoint_type in TouchpointType.objects.order_by("name")
    ]
    return {
        "stage_rows": rows,
        "stage_keys": {stage.key for stage in stages},
        "touchpoint_types": types,
        "create_form": create_form or LifecycleStageForm(prefix="new"),
    }


def _stages_page(request: OrganizationRequest, status: int = 200, **forms: Any) -> HttpResponse:
    return render(request, "journeys/stages.html", _stages_context(**forms), status=status)


@admin_required
@require_http_methods(["GET"])
def stages(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    return _stages_page(request)


@admin_required
@require_POST
def stage_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = LifecycleStageForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            stage = services.lifecycle_stage_create(
                key=form.cleaned_data["key"],
                name_en=form.cleaned_data["name_en"],
                name_pt_br=form.cleaned_data["name_pt_br"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Stage “%(key)s” added.") % {"key": stage.key})
            return redirect("journeys:stages", org_slug=org_slug)
    return _stages_page(request, status=400, create_form=form)


@admin_required
@require_POST
def stage_rename(request: OrganizationRequest, org_slug: str, stage_id: int) -> HttpResponse:
    stage = get_object_or_404(LifecycleStage, pk=stage_id)
    form = _rename_form(stage, request.POST)
    if not form.is_valid():
        return _stages_page(request, status=400, invalid=form)
    services.lifecycle_stage_rename(
        stage=stage,
        name_en=form.cleaned_data["name_en"],
        name_pt_br=form.cleaned_data["name_pt_br"],
        actor=request.user,
    )
    messages.success(request, _("Stage “%(key)s” renamed.") % {"key": stage.key})
    return redirect("journeys:stages", org_slug=org_slug)


@admin_required
@require_POST
def stage_move(request: OrganizationRequest, org_slug: str, stage_id: int) -> HttpResponse:
    """Up or down one place. htmx swaps the list; without JavaScript, back to the page."""
    stage = get_object_or_404(LifecycleStage, pk=stage_id)
    direction = DIRECTIONS.get(request.POST.get("direction", ""))
    if direction is None:
        messages.error(request, _("Direction: choose up or down."))
        return redirect("journeys:stages", org_slug=org_slug)
    services.lifecycle_stage_move(stage=stage, direction=direction, actor=request.user)
    if request.htmx:
        return render_page(request, "journeys/stages.html", _stages_context(), partial="stage-list")
    return redirect("journeys:stages", org_slug=org_slug)


@admin_required
@require_POST
def stage_delete(request: OrganizationRequest, org_slug: str, stage_id: int) -> HttpResponse:
    stage = get_object_or_404(LifecycleStage, pk=stage_id)
    try:
        services.lifecycle_stage_delete(stage=stage, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Stage “%(key)s” deleted.") % {"key": stage.key})
    return redirect("journeys:stages", org_slug=org_slug)


@admin_required
@require_POST
def touchpoint_type_place(
    request: OrganizationRequest, org_slug: str, type_id: int
) -> HttpResponse:
    touchpoint_type = get_object_or_404(TouchpointType, pk=type_id)
    form = TouchpointTypePlaceForm(
        request.POST,
        stages=selectors.lifecycle_stage_list(),
        language=_language(),
        prefix=f"type-{touchpoint_type.pk}",
    )
    if not form.is_valid():
        messages.error(
            request,
            _("Stage of “%(type)s”: choose one of the stages, or none.")
            % {"type": touchpoint_type.name},
        )
        return redirect("journeys:stages", org_slug=org_slug)
    try:
        services.touchpoint_type_place(
            touchpoint_type=touchpoint_type,
            stage_key=form.cleaned_data["lifecycle_stage"],
            actor=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("“%(type)s” placed on the journey.") % {"type": touchpoint_type.name}
        )
    return redirect("journeys:stages", org_slug=org_slug)


# --- value milestones and core features -----------------------------------------------------


def _settings_page(
    request: OrganizationRequest,
    *,
    milestone_form: ValueMilestoneForm | None = None,
    core_feature_form: CoreFeatureForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "milestones": ValueMilestone.objects.order_by("name"),
        "core_features": CoreFeature.objects.order_by("feature"),
        "milestone_form": milestone_form or ValueMilestoneForm(prefix="milestone"),
        "core_feature_form": core_feature_form or CoreFeatureForm(prefix="core"),
        "event_names": selectors.usage_feature_name_list(),
        "event_list_id": USAGE_EVENT_LIST,
    }
    return render(request, "journeys/settings.html", context, status=status)


@admin_required
@require_http_methods(["GET"])
def value_settings(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    return _settings_page(request)


@admin_required
@require_POST
def milestone_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = ValueMilestoneForm(request.POST, prefix="milestone")
    if form.is_valid():
        try:
            milestone = services.value_milestone_create(
                event_name=form.cleaned_data["event_name"],
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Value milestone “%(name)s” added.") % {"name": milestone.name}
            )
            return redirect("journeys:settings", org_slug=org_slug)
    return _settings_page(request, milestone_form=form, status=400)


@admin_required
@require_POST
def milestone_delete(
    request: OrganizationRequest, org_slug: str, milestone_id: int
) -> HttpResponse:
    milestone = get_object_or_404(ValueMilestone, pk=milestone_id)
    services.value_milestone_delete(milestone=milestone, actor=request.user)
    messages.success(request, _("Value milestone “%(name)s” deleted.") % {"name": milestone.name})
    return redirect("journeys:settings", org_slug=org_slug)


@admin_required
@require_POST
def core_feature_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = CoreFeatureForm(request.POST, prefix="core")
    if form.is_valid():
        try:
            core_feature = services.core_feature_create(
                feature=form.cleaned_data["feature"], actor=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("Core feature “%(feature)s” added.") % {"feature": core_feature}
            )
            return redirect("journeys:settings", org_slug=org_slug)
    return _settings_page(request, core_feature_form=form, status=400)


@admin_required
@require_POST
def core_feature_delete(
    request: OrganizationRequest, org_slug: str, feature_id: int
) -> HttpResponse:
    core_feature = get_object_or_404(CoreFeature, pk=feature_id)
    services.core_feature_delete(core_feature=core_feature, actor=request.user)
    messages.success(request, _("Core feature “%(feature)s” deleted.") % {"feature": core_feature})
    return redirect("journeys:settings", org_slug=org_slug)


# --- an account's stage -------------------------------------------------------------------


@manager_required
@require_POST
def account_stage(request: OrganizationRequest, org_slug: str, account_id: int) -> HttpResponse:
    """Move one account to another stage, then back to the page the form was on."""
    account = get_object_or_404(Account, pk=account_id)
    stages = services.lifecycle_stages_ensure()
    form = AccountStageForm(request.POST, stages=stages, language=_language())
    if form.is_valid():
        try:
            changed = services.account_stage_change(
                account=account, stage_key=form.cleaned_data["stage"], by=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if changed:
                stage = next(s for s in stages if s.key == account.lifecycle_stage)
                messages.success(
                    request,
                    _("%(account)s moved to “%(stage)s”.")
                    % {"account": account.name, "stage": stage.name(_language())},
                )
    else:
        messages.error(request, _("Lifecycle stage: choose one of the journey's stages."))
    return _redirect_back(request, org_slug)


def _redirect_back(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("journeys:map", org_slug=org_slug)
