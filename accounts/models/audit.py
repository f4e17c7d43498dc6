"""The audit log: one append-only entry per admin action (accounts.audit writes it)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantManager, TenantModel, TenantQuerySet


class AuditEventQuerySet(TenantQuerySet):
    """Append-only: the application never edits or deletes an audit entry."""

    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("Audit events are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit events are never deleted.")


class AuditLogIsAppendOnly(RuntimeError):  # noqa: N818 (a rule, not a failure)
    pass


class AuditEventManager(TenantManager):
    _queryset_class = AuditEventQuerySet


class AuditEvent(TenantModel):
    """One admin action, as it happened: who, what, on what, with which values.

    Append-only: written by `accounts.audit.audit_record` in the transaction of
    the change it records, never updated or deleted by the application. The
    actor's email is copied so the entry still reads after the user is deleted.
    `details` never holds a secret (an API key's name and prefix, never the key).
    """

    class Action(models.TextChoices):
        MEMBER_INVITED = "member.invited", _("Member invited")
        INVITATION_REVOKED = "member.invitation_revoked", _("Invitation revoked")
        MEMBER_ROLE_CHANGED = "member.role_changed", _("Member's role changed")
        MEMBER_REMOVED = "member.removed", _("Member removed")
        API_KEY_CREATED = "api_key.created", _("API key created")
        API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
        HEALTH_MODEL_UPDATED = "health_model.updated", _("Health model updated")
        IMPORT_COMPLETED = "import.completed", _("CSV import completed")
        IMPORT_FAILED = "import.failed", _("CSV import failed")
        STAGE_CREATED = "lifecycle_stage.created", _("Lifecycle stage created")
        STAGE_UPDATED = "lifecycle_stage.updated", _("Lifecycle stage changed")
        STAGE_DELETED = "lifecycle_stage.deleted", _("Lifecycle stage deleted")
        TOUCHPOINT_PLACED = "journey.touchpoint_placed", _("Touchpoint placed in the journey")
        VALUE_SETTINGS_UPDATED = "value_settings.updated", _("Value milestones changed")
        PLAYBOOK_CREATED = "playbook.created", _("Playbook created")
        PLAYBOOK_UPDATED = "playbook.updated", _("Playbook changed")
        PLAYBOOK_TOGGLED = "playbook.toggled", _("Playbook switched on or off")
        PLAYBOOK_DEFAULTS = "playbook.defaults_installed", _("Default playbooks installed")
        BENCHMARKS_UPDATED = "benchmarks.updated", _("Benchmarks changed")
        SURVEY_CREATED = "survey.created", _("Survey created")
        CAMPAIGN_CREATED = "survey_campaign.created", _("Survey campaign created")
        CAMPAIGN_SENT = "survey_campaign.sent", _("Survey campaign sent")
        ORGANIZATION_UPDATED = "organization.settings_changed", _("Organization settings changed")
        ORGANIZATION_EXPORTED = "organization.exported", _("Organization data exported")
        CONTACT_ERASED = "contact.erased", _("Contact erased (privacy request)")
        SEGMENT_CREATED = "segment.created", _("Segment saved")
        SEGMENT_UPDATED = "segment.updated", _("Segment changed")
        SEGMENT_DELETED = "segment.deleted", _("Segment deleted")
        STRIPE_CONNECTED = "stripe.connected", _("Stripe connected")
        STRIPE_KEY_REPLACED = "stripe.key_replaced", _("Stripe key replaced")
        STRIPE_WEBHOOK_SECRET_SET = "stripe.webhook_secret_set", _("Stripe signing secret set")
        STRIPE_DISCONNECTED = "stripe.disconnected", _("Stripe disconnected")

    objects: ClassVar[AuditEventManager] = AuditEventManager()

    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    actor_email = models.CharField(_("who (email)"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target = models.CharField(_("on"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["organization", "-at", "-id"], name="audit_event_org_at_idx"),
            models.Index(
                fields=["organization", "action", "-at", "-id"], name="audit_event_org_action_idx"
            ),
            models.Index(
                fields=["organization", "actor", "-at", "-id"], name="audit_event_org_actor_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email or '—'} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit events are never deleted.")
