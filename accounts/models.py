"""Organizations (the tenants), users, memberships and invitations.

Organization, User and Membership are the tenancy's own tables: they say who
may enter which tenant, so they are read before any tenant is set and are not
tenant-owned. Everything an organization owns inherits TenantModel.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower, Mod
from django.db.models.lookups import Exact, GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantManager, TenantModel, TenantQuerySet

LOCALE_CHOICES = [("en", _("English")), ("pt-br", _("Brazilian Portuguese"))]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a time zone; use a name such as America/Sao_Paulo."),
            params={"value": value},
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=normalize_email(username or ""))


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively; we store them lower-cased and trimmed."""
    return email.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address and a password."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=LOCALE_CHOICES, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


# Health and engagement read 30 days of usage: raw events are kept at least that long.
MIN_USAGE_EVENT_RETENTION_DAYS = 30


class Organization(models.Model):
    """A tenant: one SaaS company using csplatform, with its currency, time zone and locale."""

    slug = models.SlugField(
        _("slug"),
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                _("Use lower-case letters, digits and single hyphens, e.g. acme-brasil."),
            )
        ],
        help_text=_("Used in addresses, e.g. /o/acme-brasil/."),
    )
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as BRL or USD."))],
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    default_locale = models.CharField(
        _("default language"), max_length=8, choices=LOCALE_CHOICES, default="en"
    )
    gross_margin = models.DecimalField(
        _("gross margin"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("1.000"),
        db_default=Decimal("1.000"),
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1"))],
        help_text=_("Share of revenue kept after the cost of serving it (lifetime value)."),
    )
    annual_discount_rate = models.DecimalField(
        _("annual discount rate"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.100"),
        db_default=Decimal("0.100"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Discounts future revenue in projected lifetime value."),
    )
    survey_quiet_days = models.PositiveIntegerField(
        _("survey quiet period (days)"),
        default=90,
        db_default=90,
        help_text=_("A contact surveyed within this many days is not surveyed again."),
    )
    survey_account_monthly_cap = models.PositiveIntegerField(
        _("surveys per account per month"),
        default=5,
        db_default=5,
        validators=[MinValueValidator(1)],
        help_text=_("At most this many contacts of one account are surveyed in a month."),
    )
    usage_event_retention_days = models.PositiveIntegerField(
        _("keep raw usage events for (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_USAGE_EVENT_RETENTION_DAYS)],
        help_text=_(
            "Older raw events are deleted every night, once counted in the daily usage "
            "(health and engagement read those). Empty keeps them forever."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(usage_event_retention_days__isnull=True)
                | models.Q(usage_event_retention_days__gte=MIN_USAGE_EVENT_RETENTION_DAYS),
                name="organization_usage_retention_minimum",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("CS manager")
    VIEWER = "viewer", _("Board viewer")


ROLE_RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_at_least(role: str, minimum: str) -> bool:
    """Roles are ordered owner > admin > manager > viewer."""
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


class Membership(models.Model):
    """A user's role in one organization. Read before a tenant is set, so not tenant-owned."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["user", "organization"], name="membership_user_org_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return role_at_least(self.role, minimum)


def default_invitation_expiry() -> Any:
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class Invitation(TenantModel):
    """An emailed invitation to join an organization with a role, valid until it expires."""

    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), default=default_invitation_expiry)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            # One open invitation per address: re-inviting revokes the old one first.
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "expires_at"], name="invitation_org_expiry_idx")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @property
    def status(self) -> InvitationStatus:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def is_open(self) -> bool:
        return self.status == InvitationStatus.PENDING


class Account(TenantModel):
    """A customer of the organization: the unit of revenue, health and risk."""

    external_id = models.CharField(_("external id"), max_length=255)
    name = models.CharField(_("name"), max_length=255)
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    signup_date = models.DateField(_("signup date"), null=True, blank=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=50, blank=True)
    custom_attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="account_external_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "name"], name="account_org_name_idx"),
            models.Index(fields=["organization", "owner"], name="account_org_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TenantModel):
    """A person at a customer account: the one who answers surveys and uses the product."""

    account = models.ForeignKey(
        Account, on_delete=models.DB_CASCADE, related_name="contacts", verbose_name=_("account")
    )
    email = models.EmailField(_("email"))
    name = models.CharField(_("name"), max_length=255, blank=True)
    locale = models.CharField(_("language"), max_length=8, choices=LOCALE_CHOICES, blank=True)
    role = models.CharField(_("role"), max_length=100, blank=True)
    opted_out_at = models.DateTimeField(_("opted out"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                "organization", "account", Lower("email"), name="contact_account_email_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "account"], name="contact_org_account_idx"),
            models.Index(fields=["organization", "email"], name="contact_org_email_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email


class BillingInterval(models.TextChoices):
    MONTH = "month", _("Monthly")
    QUARTER = "quarter", _("Quarterly")
    YEAR = "year", _("Yearly")


MONTHS_PER_INTERVAL = {
    BillingInterval.MONTH: 1,
    BillingInterval.QUARTER: 3,
    BillingInterval.YEAR: 12,
}


def _interval_months() -> models.Case:
    """SQL: the billing interval in months."""
    return models.Case(
        *(
            models.When(billing_interval=interval, then=models.Value(months))
            for interval, months in MONTHS_PER_INTERVAL.items()
        ),
        output_field=models.PositiveSmallIntegerField(),
    )


def _mrr_cents() -> models.Expression:
    """SQL: the amount ÷ the interval's months, rounded to the cent half to even, in
    integers (no float). A generated column cannot read another one, so the months
    are spelled again here, from the same expression."""
    months = _interval_months()
    whole = models.F("amount_cents") / months
    twice_rest = Mod(models.F("amount_cents"), months) * models.Value(2)
    rounds_up = GreaterThan(twice_rest, months) | (
        Exact(twice_rest, months) & Exact(Mod(whole, models.Value(2)), models.Value(1))
    )
    return whole + models.Case(
        models.When(rounds_up, then=models.Value(1)),
        default=models.Value(0),
        output_field=models.BigIntegerField(),
    )


class Subscription(TenantModel):
    """One priced period of an account's contract. History is never overwritten:
    a change of price or plan ends this row (`ended_on`, exclusive) and starts another."""

    external_id = models.CharField(_("external id"), max_length=255)
    account = models.ForeignKey(
        Account,
        on_delete=models.DB_CASCADE,
        related_name="subscriptions",
        verbose_name=_("account"),
    )
    plan = models.CharField(_("plan"), max_length=200)
    amount_cents = models.BigIntegerField(_("amount per billing interval (cents)"))
    currency = models.CharField(_("currency"), max_length=3)
    billing_interval = models.CharField(
        _("billing interval"), max_length=8, choices=BillingInterval.choices
    )
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(
        _("ended on"),
        null=True,
        blank=True,
        help_text=_("The first day the subscription no longer covers (the end date is exclusive)."),
    )
    # The one definition of a subscription's MRR (docs/metrics.md): every reader, in
    # Python, SQL or pandas, reads these columns; Postgres keeps them in step.
    interval_months = models.GeneratedField(
        expression=_interval_months(),
        output_field=models.PositiveSmallIntegerField(_("billing interval (months)")),
        db_persist=True,
    )
    mrr_cents = models.GeneratedField(
        expression=_mrr_cents(),
        output_field=models.BigIntegerField(_("MRR (cents)")),
        db_persist=True,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="subscription_external_id_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(amount_cents__gte=0), name="subscription_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(ended_on__gte=models.F("started_on")),
                name="subscription_ends_after_it_starts",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "account", "started_on"],
                name="subscription_org_account_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.external_id})"


class Note(TenantModel):
    """A free-text note on an account, by a member of the organization."""

    account = models.ForeignKey(
        Account, on_delete=models.DB_CASCADE, related_name="notes", verbose_name=_("account")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [
            models.Index(
                fields=["organization", "account", "created_at"], name="note_org_account_idx"
            )
        ]

    def __str__(self) -> str:
        return self.body[:50]


class ApiKey(TenantModel):
    """A key for the organization's own systems to call the REST API.

    The full key is `csp_<organization id>_<secret>`; only a SHA-256 of it is
    stored (the secret is 256 random bits, so a slow hash adds nothing), and
    it is shown once, at creation. The organization id in the key lets the
    lookup run inside that tenant, under row-level security.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("starts with"), max_length=32)
    hashed_key = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.UniqueConstraint(fields=["organization", "hashed_key"], name="api_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ImportUpload(TenantModel):
    """A CSV file uploaded on the import page: previewed first, imported on confirmation."""

    kind = models.CharField(_("kind"), max_length=32)
    filename = models.CharField(_("file"), max_length=255)
    content = models.BinaryField()
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
