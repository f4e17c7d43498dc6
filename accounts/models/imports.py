"""CSV uploads of the import page (the formats are in csplatform.imports)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantModel


class ImportStatus(models.TextChoices):
    CHECKING = "checking", _("being checked")
    CHECKED = "checked", _("checked")
    # Confirmed, a big file: a worker imports it (accounts.imports.import_upload_queued).
    IMPORTING = "importing", _("being imported")
    IMPORTED = "imported", _("imported")
    # Not imported within a day (or naming an erased person): its content was emptied.
    EXPIRED = "expired", _("expired")


class ImportUpload(TenantModel):
    """A CSV file uploaded on the import page: checked once (a dry run, inline for a
    small file, by a worker for a big one), previewed from that stored check, imported
    on confirmation; emptied if not imported within a day."""

    kind = models.CharField(_("kind"), max_length=32)
    filename = models.CharField(_("file"), max_length=255)
    content = models.BinaryField()
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.CHECKING
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    # The dry run's outcome, as the preview shows it (accounts.imports.import_upload_check):
    # rows, counts, warnings, the first rows, or the first errors and their number. Its
    # errors and warnings are phrases (csplatform.texts: msgid and parameters, as JSON),
    # rendered in the reader's language; older checks hold sentences, shown as they are.
    check_outcome = models.JSONField(_("check"), default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("CSV upload")
        verbose_name_plural = _("CSV uploads")
        indexes = [
            models.Index(fields=["organization", "created_at"], name="import_upload_org_idx")
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def kind_label(self) -> str:
        from csplatform.imports import REGISTRY

        kind = REGISTRY.get(self.kind)
        return str(kind.label).capitalize() if kind else self.kind
