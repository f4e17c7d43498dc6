"""The CSV import page: upload, preview (a dry run against the database), confirm."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import imports as import_services
from accounts.forms import ImportForm
from accounts.http import OrganizationRequest
from accounts.models import ImportUpload
from accounts.permissions import admin_required
from csplatform.imports import REGISTRY


@admin_required
def imports(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        upload = import_services.import_upload_create(
            kind=form.cleaned_data["kind"],
            filename=uploaded.name,
            content=uploaded.read(),
            uploaded_by=request.user,
        )
        return redirect("accounts:import_preview", org_slug=org_slug, upload_id=upload.pk)
    uploads = ImportUpload.objects.defer("content").select_related("uploaded_by")
    context = {
        "form": form,
        "uploads": uploads.order_by("-created_at")[:20],
        "kinds": [REGISTRY[name] for name in sorted(REGISTRY)],
    }
    return render(request, "accounts/imports.html", context, status=400 if form.errors else 200)


@admin_required
def import_preview(request: OrganizationRequest, org_slug: str, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload, pk=upload_id)
    if upload.imported_at:
        return redirect("accounts:imports", org_slug=org_slug)
    outcome = import_services.import_upload_preview(upload)
    return render(
        request,
        "accounts/import_preview.html",
        {"upload": upload, "kind": REGISTRY[upload.kind], **outcome},
    )


@admin_required
@require_POST
def import_confirm(request: OrganizationRequest, org_slug: str, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload, pk=upload_id)
    outcome = import_services.import_upload_confirm(upload=upload, actor=request.user)
    if outcome is None:
        messages.info(request, _("%(file)s was already imported.") % {"file": upload.filename})
        return redirect("accounts:imports", org_slug=org_slug)
    if "errors" in outcome:
        return render(
            request,
            "accounts/import_preview.html",
            {"upload": upload, "kind": REGISTRY[upload.kind], **outcome},
            status=400,
        )
    result = outcome["result"]
    messages.success(
        request,
        _("%(file)s imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
        % {
            "file": upload.filename,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )
    return redirect("accounts:imports", org_slug=org_slug)
