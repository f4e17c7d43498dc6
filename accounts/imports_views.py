"""The CSV import page: upload (and check once), preview the stored check, confirm
(a big file is checked and imported by a worker, the preview polling its progress)."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import imports as import_services
from accounts.forms import ImportForm
from accounts.http import OrganizationRequest
from accounts.models import ImportStatus, ImportUpload
from accounts.permissions import admin_required
from csplatform.http import is_htmx, render_page
from csplatform.imports import REGISTRY
from csplatform.uploads import upload_too_large


@admin_required
def imports(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    too_large = request.method == "POST" and upload_too_large(request)
    if request.method == "POST" and not too_large and form.is_valid():
        uploaded = form.cleaned_data["file"]
        upload = import_services.import_upload_create(
            kind=form.cleaned_data["kind"],
            filename=uploaded.name,
            content=uploaded.read(),
            uploaded_by=request.user,
        )
        return redirect("accounts:import_preview", org_slug=org_slug, upload_id=upload.pk)
    uploads = ImportUpload.objects.defer("content", "check_outcome").select_related("uploaded_by")
    context = {
        "form": ImportForm() if too_large else form,
        "too_large": too_large,
        "max_body": filesizeformat(settings.UPLOAD_MAX_BODY_BYTES),
        "uploads": uploads.order_by("-created_at")[:20],
        "kinds": [REGISTRY[name] for name in sorted(REGISTRY)],
    }
    status = 413 if too_large else 400 if form.errors else 200
    return render(request, "accounts/imports.html", context, status=status)


@admin_required
def import_preview(request: OrganizationRequest, org_slug: str, upload_id: int) -> HttpResponse:
    """The stored check of the upload (never a new one); while a worker checks or
    imports a big file, its progress, which htmx polls (the `import-check` partial),
    until the partial shows the outcome. An imported upload's page is the import
    history (the imports page)."""
    upload = get_object_or_404(ImportUpload.objects.defer("content"), pk=upload_id)
    if upload.status == ImportStatus.IMPORTED and not is_htmx(request):
        return redirect("accounts:imports", org_slug=org_slug)
    return render_page(
        request,
        "accounts/import_preview.html",
        {
            "upload": upload,
            "kind": REGISTRY[upload.kind],
            **import_services.import_upload_outcome(upload),
        },
        partial="import-check",
    )


@admin_required
@require_POST
def import_confirm(request: OrganizationRequest, org_slug: str, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload.objects.defer("content"), pk=upload_id)
    outcome = import_services.import_upload_confirm(upload=upload, actor=request.user)
    if outcome is None:
        upload.refresh_from_db(fields=["status"])
        if upload.status == ImportStatus.IMPORTED:
            messages.info(request, _("%(file)s was already imported.") % {"file": upload.filename})
            return redirect("accounts:imports", org_slug=org_slug)
        return redirect("accounts:import_preview", org_slug=org_slug, upload_id=upload.pk)
    if outcome.get("importing"):
        return redirect("accounts:import_preview", org_slug=org_slug, upload_id=upload.pk)
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
            "created": result["created"],
            "updated": result["updated"],
            "unchanged": result["unchanged"],
        },
    )
    return redirect("accounts:imports", org_slug=org_slug)
