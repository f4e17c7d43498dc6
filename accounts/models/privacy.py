"""The proof of a contact's erasure on request (accounts.privacy does the erasing)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.customers import Account
from csplatform.tenancy import TenantModel


class ErasureChannel(models.TextChoices):
    WEB = "web", _("Account page")
    API = "api", _("REST API")
    COMMAND = "command", _("Management command")


class ContactErasure(TenantModel):
    """A contact erased on request (LGPD art. 18 VI, GDPR art. 17): the proof that it was
    done, naming no one (see accounts.privacy and docs/privacy.md).

    `opt_out_hash` is kept only when the contact had opted out of survey email: a
    SHA-256 of "<organization id>:<email>", so a contact later loaded again with the
    same email is still opted out (a trigger on the contact table looks it up).
    """

    former_contact_id = models.BigIntegerField(_("contact id"))
    account = models.ForeignKey(Account, on_delete=models.DB_SET_NULL, null=True, related_name="+")
    erased_at = models.DateTimeField(_("erased"), default=timezone.now)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    channel = models.CharField(_("through"), max_length=8, choices=ErasureChannel.choices)
    opt_out_hash = models.CharField(max_length=64, blank=True)
    opted_out_at = models.DateTimeField(_("opted out"), null=True, blank=True)
    removed = models.JSONField(_("what was removed"), default=dict, blank=True)

    class Meta:
        verbose_name = _("contact erasure")
        verbose_name_plural = _("contact erasures")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "former_contact_id"], name="contact_erasure_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "opt_out_hash"],
                condition=~models.Q(opt_out_hash=""),
                name="contact_erasure_opt_out_idx",
            )
        ]

    def __str__(self) -> str:
        return f"contact #{self.former_contact_id}"
