"""Usage events and their daily rollups; touchpoints and their types."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact
from csplatform.tenancy import TenantModel


class UsageEvent(TenantModel):
    """One thing a customer did in the product. Append-only.

    `dedupe_key` makes ingestion idempotent: the client's event id when it
    sends one, else a hash of the event's content (see journeys.ingest).
    """

    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("event"), max_length=200)
    occurred_at = models.DateTimeField(_("occurred at"))
    quantity = models.DecimalField(
        _("quantity"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    dedupe_key = models.UUIDField(_("idempotency key"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="usage_event_dedupe_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "account", "occurred_at"],
                name="usage_event_org_account_idx",
            )
        ]


class PendingUsageRollup(TenantModel):
    """Events written but not yet counted in the daily rollups: one row per write.

    Ingestion records the ids of the events it inserted here, in its own
    transaction; `journeys.rollups.usage_roll_up` deletes the rows and adds
    their events to the rollups in one transaction, so every event is counted
    exactly once, however writes and roll-ups interleave or fail.
    """

    event_ids = ArrayField(models.BigIntegerField())
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "id"], name="pending_rollup_org_idx")]


class DailyUsage(TenantModel):
    """Events per account per day (in the organization's time zone), seconds behind ingest."""

    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="+")
    day = models.DateField(_("day"))
    events = models.PositiveIntegerField(_("events"))
    # Sums of event quantities (each under 10^14): room for any realistic day.
    quantity = models.DecimalField(_("quantity"), max_digits=38, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "day"], name="daily_usage_unique"
            )
        ]


class DailyFeatureUsage(TenantModel):
    """Events per account, feature (event name) and day."""

    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="+")
    feature = models.CharField(_("feature"), max_length=200)
    day = models.DateField(_("day"))
    events = models.PositiveIntegerField(_("events"))
    # Sums of event quantities (each under 10^14): room for any realistic day.
    quantity = models.DecimalField(_("quantity"), max_digits=38, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "feature", "day"],
                name="daily_feature_usage_unique",
            )
        ]


class DailyContactUsage(TenantModel):
    """Events per account, contact and day (for active contacts, the depth of engagement)."""

    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.DB_CASCADE, related_name="+")
    day = models.DateField(_("day"))
    events = models.PositiveIntegerField(_("events"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "contact", "day"],
                name="daily_contact_usage_unique",
            )
        ]


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    CHAT = "chat", _("Chat")
    SUPPORT = "support", _("Support ticket")
    IN_APP = "in_app", _("In-app")
    EVENT = "event", _("Event")
    SURVEY = "survey", _("Survey")
    OTHER = "other", _("Other")


class TouchpointType(TenantModel):
    """A kind of interaction (onboarding call, QBR, support ticket…) on a lifecycle stage."""

    name = models.CharField(_("name"), max_length=200)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=50, blank=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.OTHER
    )

    class Meta:
        verbose_name = _("touchpoint type")
        verbose_name_plural = _("touchpoint types")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="touchpoint_type_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


class Touchpoint(TenantModel):
    """An interaction with an account, with its sentiment. Append-only."""

    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="touchpoints")
    contact = models.ForeignKey(
        Contact, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    type = models.ForeignKey(
        TouchpointType,
        on_delete=models.DO_NOTHING,  # Postgres refuses to delete a type still in use
        related_name="+",
        verbose_name=_("touchpoint type"),
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    sentiment = models.CharField(
        _("sentiment"), max_length=8, choices=Sentiment.choices, default=Sentiment.NEUTRAL
    )
    notes = models.TextField(_("notes"), blank=True)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    dedupe_key = models.UUIDField(_("idempotency key"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="touchpoint_dedupe_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "account", "occurred_at"],
                name="touchpoint_org_account_idx",
            )
        ]
