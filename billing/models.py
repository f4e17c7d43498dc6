"""An organization's connection to its Stripe account, and the Stripe events it has
taken in (docs/integrations.md, Set-up)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csplatform.crypto import EncryptedTextField
from csplatform.tenancy import TenantModel


class FailureReason(models.TextChoices):
    """Why the last call to Stripe failed: a key for the page's message, never the
    message itself (the page says it in the reader's language)."""

    KEY_REJECTED = "key_rejected", _("Stripe refused the key: it was revoked or lacks a permission")
    RATE_LIMITED = "rate_limited", _("Stripe asked us to slow down (too many requests)")
    UNREACHABLE = "unreachable", _("Stripe could not be reached")
    STRIPE_ERROR = "stripe_error", _("Stripe answered with an error")
    SYNC_ERROR = "sync_error", _("The sync stopped on an unexpected error (logged for us)")


class SkipReason(models.TextChoices):
    """Why a customer could not be synced: stored as the key, said in the reader's
    language. Running the sync again meets the same problem, so it is not retried."""

    SHAPE = "shape", _("Stripe sent something the connector cannot read")
    ROWS_REJECTED = "rows_rejected", _("Its account, contact or history would be invalid")
    DATA_ERROR = "data_error", _("A value is too long or out of range")
    STRIPE_REFUSED = "stripe_refused", _("Stripe refused to return it")


class StripeConnection(TenantModel):
    """The organization's Stripe account: its restricted key and webhook signing secret
    (encrypted, csplatform.crypto), the backfill's progress, the reconciliation's
    cursor and the last failure. One per organization; disconnecting deletes it."""

    restricted_key = EncryptedTextField(_("restricted key (encrypted)"))
    key_hint = models.CharField(_("key"), max_length=40)  # "rk_live_…abcd": enough to recognise it
    webhook_secret = EncryptedTextField(_("webhook signing secret (encrypted)"), blank=True)
    # The URL Stripe posts events to: /hooks/stripe/<organization id>-<random>/.
    webhook_token = models.CharField(_("webhook token"), max_length=80)
    stripe_account_id = models.CharField(_("Stripe account"), max_length=64, blank=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    connected_at = models.DateTimeField(_("connected"), default=timezone.now)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("connected by"),
    )
    # The backfill: customers in Stripe's list order, one committed with each step.
    backfill_generation = models.PositiveIntegerField(_("backfill generation"), default=1)
    backfill_cursor = models.CharField(_("last customer synced"), max_length=64, blank=True)
    backfill_page = models.JSONField(_("customers of the page in progress"), default=list)
    backfill_more = models.BooleanField(_("more pages to read"), default=True)
    backfill_customers_done = models.PositiveIntegerField(_("customers synced"), default=0)
    backfill_started_at = models.DateTimeField(_("backfill started"), null=True, blank=True)
    backfill_finished_at = models.DateTimeField(_("backfill finished"), null=True, blank=True)
    # The reconciliation: Stripe's events after this one were not read yet.
    events_cursor_id = models.CharField(_("last event read"), max_length=64, blank=True)
    events_cursor_created = models.DateTimeField(_("last event's time"), null=True, blank=True)
    # Customers a sync skipped (a permanent error): [{"customer", "reason" (a
    # SkipReason), "params"}], the newest last, at most services.SKIPPED_CUSTOMERS_MAX.
    skipped_customers = models.JSONField(_("customers not synced"), default=list, blank=True)
    last_reconciled_at = models.DateTimeField(_("last reconciliation"), null=True, blank=True)
    # The last failed call to Stripe (cleared by the next success).
    failure_reason = models.CharField(
        _("failure"), max_length=20, choices=FailureReason.choices, blank=True
    )
    failure_status = models.PositiveSmallIntegerField(_("Stripe's HTTP status"), null=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("Stripe connection")
        verbose_name_plural = _("Stripe connections")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="stripe_connection_unique")
        ]

    def __str__(self) -> str:
        return f"Stripe {self.stripe_account_id or '?'} ({self.key_hint})"

    def __repr__(self) -> str:  # never the secrets, not even encrypted
        return f"<StripeConnection {self.pk} {self.key_hint}>"

    @property
    def skipped_list(self) -> list[dict[str, str]]:
        """The skipped customers with their reasons in the reader's language."""
        labels = dict(SkipReason.choices)
        return [
            {
                "customer": str(item.get("customer", "")),
                "reason": str(labels.get(item.get("reason"), "")),
            }
            for item in self.skipped_customers
        ]

    @property
    def backfill_running(self) -> bool:
        return self.backfill_started_at is not None and self.backfill_finished_at is None


class StripeEvent(TenantModel):
    """A Stripe event taken in (by webhook or by the reconciliation): its id makes a
    second delivery of it do nothing."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", _("webhook")
        RECONCILIATION = "reconciliation", _("reconciliation")

    event_id = models.CharField(_("event"), max_length=255)
    type = models.CharField(_("type"), max_length=100)
    created = models.DateTimeField(_("created in Stripe"))
    customer_id = models.CharField(_("customer"), max_length=255, blank=True)
    source = models.CharField(_("received by"), max_length=16, choices=Source.choices)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        constraints = [
            models.UniqueConstraint(fields=["organization", "event_id"], name="stripe_event_unique")
        ]
