"""Usage events and their daily rollups; touchpoints and their types."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact
from csplatform.tenancy import TenantModel
from csplatform.texts import key_or_text, stored_text


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
        # The health snapshot reads the last 30 days of every account (index-only).
        indexes = [
            models.Index(
                fields=["organization", "day"], include=["account"], name="daily_usage_day_idx"
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
        indexes = [
            models.Index(
                fields=["organization", "day"],
                include=["account", "feature"],
                name="daily_feature_usage_day_idx",
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
        indexes = [
            models.Index(
                fields=["organization", "day"],
                include=["account", "contact"],
                name="daily_contact_usage_day_idx",
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


# --- the journey: lifecycle stages, their history, value milestones, core features ------


class LifecycleStage(TenantModel):
    """A stage of the organization's customer journey, in the organization's order.

    `key` is what Account.lifecycle_stage and TouchpointType.lifecycle_stage hold;
    renaming a stage changes its names, never its key.
    """

    key = models.SlugField(_("key"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_pt_br = models.CharField(_("name (Portuguese)"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        verbose_name = _("lifecycle stage")
        verbose_name_plural = _("lifecycle stages")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="lifecycle_stage_unique")
        ]

    def __str__(self) -> str:
        return self.key

    def name(self, language: str) -> str:
        return self.name_pt_br if language.lower().startswith("pt") else self.name_en


class StageTransition(TenantModel):
    """An account moved from one lifecycle stage to another (append-only history)."""

    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="+")
    from_stage = models.CharField(_("from"), max_length=50, blank=True)
    to_stage = models.CharField(_("to"), max_length=50, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed"))

    class Meta:
        verbose_name = _("stage transition")
        verbose_name_plural = _("stage transitions")
        indexes = [
            models.Index(
                fields=["organization", "account", "changed_at"], name="stage_transition_idx"
            )
        ]


class ValueMilestone(TenantModel):
    """A usage event that means the customer got value (e.g. "report.generated")."""

    event_name = models.CharField(_("event"), max_length=200)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("value milestone")
        verbose_name_plural = _("value milestones")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event_name"], name="value_milestone_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CoreFeature(TenantModel):
    """A feature (usage event name) that counts towards product adoption."""

    feature = models.CharField(_("feature"), max_length=200)

    class Meta:
        verbose_name = _("core feature")
        verbose_name_plural = _("core features")
        ordering = ["feature"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "feature"], name="core_feature_unique")
        ]

    def __str__(self) -> str:
        return self.feature


# --- playbooks and the to-dos they open ---------------------------------------------------


class PlaybookTrigger(models.TextChoices):
    BAND_DROP = "band_drop", _("Health band drops")
    DETRACTOR = "detractor", _("Detractor response")
    RENEWAL = "renewal", _("Renewal within N days")
    INACTIVE = "inactive", _("No activity for N days")
    TTV_OVERDUE = "ttv_overdue", _("Time to value overdue")
    TRIAD = "triad", _("Triad flag")


class Playbook(TenantModel):
    """A rule: when its trigger fires for an account, open a task for the account's owner."""

    # Name and task title: a default's key (metrics.playbooks) or what an admin typed.
    name_key = models.CharField(max_length=100, blank=True)
    custom_name = models.CharField(_("name"), max_length=200, blank=True)
    trigger = models.CharField(_("when"), max_length=16, choices=PlaybookTrigger.choices)
    days = models.PositiveSmallIntegerField(
        _("days"),
        null=True,
        blank=True,
        help_text=_("N for the rules that take one (renewal, no activity, time to value)."),
    )
    task_title_key = models.CharField(max_length=100, blank=True)
    custom_task_title = models.CharField(_("task title"), max_length=200, blank=True)
    due_in_days = models.PositiveSmallIntegerField(_("due in (days)"), default=3)
    email_assignee = models.BooleanField(_("email the assignee"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["custom_name", "name_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name_key", "custom_name"], name="playbook_name_unique"
            ),
            key_or_text(key="name_key", text="custom_name", name="playbook_name_key_or_text"),
            key_or_text(
                key="task_title_key",
                text="custom_task_title",
                name="playbook_task_title_key_or_text",
            ),
        ]

    name = stored_text(key="name_key", custom="custom_name")
    task_title = stored_text(key="task_title_key", custom="custom_task_title")

    def __str__(self) -> str:
        return self.name


class TodoStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class Todo(TenantModel):
    """A to-do ("task" on screen; in the code a task is a Celery task): something a CS
    manager should do for an account, opened by a playbook or by hand.

    A playbook opens at most one open task per account (a constraint), and never twice
    for the same occurrence (`trigger_key`: the response, the renewal date, the day of
    the drop…), so completing a task does not make the same event open it again.
    A snoozed task stays open and is hidden until `snoozed_until`.
    """

    # Title and reason: a key with its parameters (a playbook's, csplatform.texts), or
    # what a person typed.
    title_key = models.CharField(max_length=100, blank=True)
    custom_title = models.CharField(_("title"), max_length=200, blank=True)
    account = models.ForeignKey(Account, on_delete=models.DB_CASCADE, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    due_on = models.DateField(_("due"))
    playbook = models.ForeignKey(
        Playbook, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    trigger_key = models.CharField(max_length=100, blank=True)
    reason_key = models.CharField(max_length=100, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    custom_reason = models.TextField(_("why"), blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=TodoStatus.choices, default=TodoStatus.OPEN
    )
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "playbook", "account"],
                condition=models.Q(status="open"),
                name="todo_one_open_per_playbook",
            ),
            models.UniqueConstraint(
                fields=["organization", "playbook", "account", "trigger_key"],
                name="todo_once_per_occurrence",
            ),
            key_or_text(key="title_key", text="custom_title", name="todo_title_key_or_text"),
            key_or_text(key="reason_key", text="custom_reason", name="todo_reason_key_or_text"),
        ]
        indexes = [
            models.Index(fields=["organization", "assignee", "status", "due_on"], name="todo_idx"),
            models.Index(fields=["organization", "account", "status"], name="todo_account_idx"),
        ]

    title = stored_text(key="title_key", custom="custom_title")
    reason = stored_text(key="reason_key", params="reason_params", custom="custom_reason")

    def __str__(self) -> str:
        return self.title
