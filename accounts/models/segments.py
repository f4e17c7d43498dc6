"""Saved segments: a named set of account filters (the accounts list's saved views and a
campaign's audience). The filters are stored as keys and values, never as translated
text; accounts.segments validates them and evaluates them (segment_accounts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantModel


class Segment(TenantModel):
    """A named, validated set of account filters (see accounts.segments.filters_clean)."""

    name = models.CharField(_("name"), max_length=200)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="segment_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
