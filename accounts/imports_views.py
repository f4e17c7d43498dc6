"""The CSV import page: upload, preview (a dry run against the database), confirm."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.audit import audit_import
from accounts.forms import ImportForm
from accounts.models import ImportUpload
from accounts.permissions import admin_required
from csplatform.imports import REGISTRY, ImportRejected, import_file
from csplatform.tenancy import current_organization


def _run(upload: ImportUpload, *, dry_run: bool) -> dict[str, object]:
    """The import's outcome for the page: counts, warnings, preview rows, or every error."""
    organization = current_organization()
    try:
        report = import_file(
            upload.kind,
            bytes(upload.content),
            context={"time_zone": organization.time_zone},
            dry_run=dry_run,
        )
    except ImportRejected as rejected:
        return {"errors": rejected.errors, "warnings": rejected.warnings}
    return {
        "result": report.result,
        "warnings": report.warnings,
        "preview": report.preview,
        "columns": list(report.preview[0]) if report.preview else [],
        "rows": report.rows,
    }


@admin_required
def imports(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        upload = ImportUpload.objects.create(
            kind=form.cleaned_data["kind"],
            filename=uploaded.name[:255],
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
def import_preview(request: HttpRequest, org_slug: str, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload, pk=upload_id)
    if upload.imported_at:
        return redirect("accounts:imports", org_slug=org_slug)
    outcome = _run(upload, dry_run=True)
    return render(
        request,
        "accounts/import_preview.html",
        {"upload": upload, "kind": REGISTRY[upload.kind], **outcome},
    )


@admin_required
@require_POST
def import_confirm(request: HttpRequest, org_slug: str, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(ImportUpload.objects.select_for_update(), pk=upload_id)
    if upload.imported_at:
        messages.info(request, _("%(file)s was already imported.") % {"file": upload.filename})
        return redirect("accounts:imports", org_slug=org_slug)
    outcome = _run(upload, dry_run=False)
    if "errors" in outcome:
        audit_import(
            actor=request.user,  # type: ignore[arg-type]
            kind=upload.kind,
            filename=upload.filename,
            source="page",
            problems=len(outcome["errors"]),  # type: ignore[arg-type]
        )
        return render(
            request,
            "accounts/import_preview.html",
            {"upload": upload, "kind": REGISTRY[upload.kind], **outcome},
            status=400,
        )
    result = outcome["result"]
    upload.imported_at = timezone.now()
    upload.rows = int(outcome["rows"])  # type: ignore[call-overload]
    upload.result = result.as_dict()  # type: ignore[attr-defined]
    upload.content = b""  # the data now lives in its tables; keep only the record of it
    upload.save(update_fields=["imported_at", "rows", "result", "content"])
    audit_import(
        actor=request.user,  # type: ignore[arg-type]
        kind=upload.kind,
        filename=upload.filename,
        source="page",
        rows=upload.rows,
        result=upload.result,
    )
    messages.success(
        request,
        _("%(file)s imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
        % {
            "file": upload.filename,
            "created": result.created,  # type: ignore[attr-defined]
            "updated": result.updated,  # type: ignore[attr-defined]
            "unchanged": result.unchanged,  # type: ignore[attr-defined]
        },
    )
    return redirect("accounts:imports", org_slug=org_slug)
