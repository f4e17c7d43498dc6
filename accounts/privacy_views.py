"""Privacy pages: erase a contact (admins, with a confirmation), the organization's
privacy settings (admins: usage-event retention) and its data export (owners)."""

from __future__ import annotations

import tempfile
from typing import cast

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import privacy, services
from accounts.forms import ContactEraseForm, RetentionForm
from accounts.http import OrganizationRequest
from accounts.models import Contact, ErasureChannel, Role
from accounts.permissions import admin_required, request_has_role, role_required
from csplatform.clock import organization_today

owner_required = role_required(Role.OWNER)


@admin_required
@require_http_methods(["GET", "POST"])
def contact_erase(request: OrganizationRequest, org_slug: str, contact_id: int) -> HttpResponse:
    """GET: what erasing the contact removes, and a form to confirm. POST: erase."""
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=contact_id)
    form = ContactEraseForm(request.POST or None, contact_email=contact.email)
    if request.method == "POST" and form.is_valid():
        result = privacy.contact_erase(contact, actor=request.user, channel=ErasureChannel.WEB)
        # The messages name no one: they are stored in the session.
        messages.success(request, _("The contact was erased."))
        if result.member_identity_kept:
            messages.info(
                request,
                _(
                    "The person is also a member of this organization: their membership, "
                    "their invitations and the audit log keep their email."
                ),
            )
        return redirect("dashboards:account", org_slug=org_slug, account_id=contact.account_id)
    context = {"contact": contact, "form": form, **privacy.contact_erasure_preview(contact)}
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/contact_erase.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def privacy_settings(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The retention of raw usage events (admins), and the export (shown to owners)."""
    organization = request.organization
    form = RetentionForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        services.organization_update(
            organization=organization, values=form.cleaned_data, actor=request.user
        )
        messages.success(request, _("Privacy settings saved."))
        return redirect("accounts:privacy", org_slug=org_slug)
    context = {
        "form": form,
        "can_export": request_has_role(request, Role.OWNER),
        "erasures": privacy.contact_erasure_list(),
    }
    return render(
        request,
        "accounts/privacy.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@owner_required
@require_POST
def organization_export(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The organization's data as a ZIP of CSVs. Written to a temporary file inside the
    request's tenant transaction (one consistent read), then streamed from disk."""
    output = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
    privacy.organization_export(output, actor=request.user)
    output.seek(0)
    filename = f"{org_slug}-export-{organization_today().isoformat()}.zip"
    response = FileResponse(output, as_attachment=True, filename=filename)
    # A streamed response, typed as the HttpResponse that role_required's views return.
    return cast(HttpResponse, response)
