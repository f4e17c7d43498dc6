"""Saved segments (manager and up): the filter builder with a live count of the accounts
and contacts it picks, the accounts list's saved views, and campaign audiences.

The builder is the accounts list's filter form (dashboards.forms.portfolio), bound to
the GET parameters (a saved view opens the list with its filters as parameters, so the
address stays shareable) or to the POSTed fields when saving. Any manager can save a
segment; only its creator or an admin may rename, change or delete it (a campaign's
audience changes with it)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import segment_services
from accounts.http import OrganizationRequest
from accounts.models import Contact, Role, Segment
from accounts.permissions import manager_required, request_has_role
from accounts.segments import segment_accounts
from csplatform.clock import organization_today
from csplatform.http import render_page
from dashboards.forms.portfolio import AccountFilterForm, filters_params, filters_query
from dashboards.views.portfolio import filter_form


def segment_editable(request: OrganizationRequest, segment: Segment) -> bool:
    """Its creator or an admin may change or delete a saved segment."""
    return segment.created_by_id == request.user.pk or request_has_role(request, Role.ADMIN)


def _counts(
    request: OrganizationRequest, form: AccountFilterForm, segment: Segment | None = None
) -> dict[str, Any]:
    """How many accounts and contacts the form's valid filters pick (two counts). Owner
    "me" is the segment's creator, as a campaign with it as audience reads it (a new
    segment's creator is the reader)."""
    me = request.user.pk if segment is None else segment.created_by_id
    accounts = segment_accounts(form.filters().values, today=organization_today(), user_id=me)
    return {
        "account_count": accounts.count(),
        "contact_count": Contact.objects.filter(account__in=accounts.values("pk")).count(),
    }


def _page(
    request: OrganizationRequest,
    form: AccountFilterForm,
    *,
    segment: Segment | None = None,
    name: str = "",
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "segment": segment,
        "name": name,
        "name_errors": (errors or {}).get("name", []),
        "other_errors": [m for k, ms in (errors or {}).items() if k != "name" for m in ms],
        **_counts(request, form, segment),
    }
    return render_page(
        request, "dashboards/segment_builder.html", context, partial="segment-count", status=status
    )


def _save(
    request: OrganizationRequest, form: AccountFilterForm, segment: Segment | None
) -> Segment | HttpResponse:
    """Validate and save the POSTed segment: the segment, or the page with the errors."""
    name = request.POST.get("name", "")
    try:
        filters = form.segment_filters()
        if segment is None:
            segment = segment_services.segment_create(
                name=name, filters=filters, actor=request.user
            )
        else:
            segment = segment_services.segment_update(
                segment=segment, name=name, filters=filters, actor=request.user
            )
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {}
        return _page(request, form, segment=segment, name=name, errors=errors, status=400)
    return segment


def _to_list(request: OrganizationRequest, org_slug: str, segment: Segment) -> HttpResponse:
    url = reverse("dashboards:accounts", kwargs={"org_slug": org_slug})
    query = filters_query(segment.filters)
    return redirect(f"{url}?{query}" if query else url)


@manager_required
@require_http_methods(["GET", "POST"])
def segment_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """GET: the builder, filled from the parameters (the list's current filters); htmx
    asks only for the count. POST: save it and open the list with its filters ("Count
    again", without JavaScript, only counts)."""
    if request.method == "GET":
        form, _stages = filter_form(request, request.GET or None)
        return _page(request, form, name=request.GET.get("name", ""))
    form, _stages = filter_form(request, request.POST)
    if request.POST.get("count"):  # "Count again" without JavaScript: nothing is saved
        return _page(request, form, name=request.POST.get("name", ""))
    saved = _save(request, form, None)
    if isinstance(saved, HttpResponse):
        return saved
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": saved.name})
    return _to_list(request, org_slug, saved)


@manager_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: OrganizationRequest, org_slug: str, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    if not segment_editable(request, segment):
        raise PermissionDenied
    if request.method == "GET":
        form, _stages = filter_form(request, request.GET or filters_params(segment.filters))
        return _page(request, form, segment=segment, name=segment.name)
    form, _stages = filter_form(request, request.POST)
    if request.POST.get("count"):  # "Count again" without JavaScript: nothing is saved
        return _page(request, form, segment=segment, name=request.POST.get("name", ""))
    saved = _save(request, form, segment)
    if isinstance(saved, HttpResponse):
        return saved
    messages.success(request, _("Saved “%(name)s”.") % {"name": saved.name})
    return _to_list(request, org_slug, saved)


@manager_required
@require_POST
def segment_delete(request: OrganizationRequest, org_slug: str, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    if not segment_editable(request, segment):
        raise PermissionDenied
    try:
        segment_services.segment_delete(segment=segment, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboards:segment_edit", org_slug=org_slug, segment_id=segment.pk)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": segment.name})
    return redirect("dashboards:accounts", org_slug=org_slug)
