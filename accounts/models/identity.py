"""Identity: organizations (the tenants), users, memberships and roles, member
invitations and API keys: who may enter which tenant, and how.

Organization, User and Membership are the tenancy's own tables: they say who
may enter which tenant, so they are read before any tenant is set and are not
tenant-owned. Everything an organization owns inherits TenantModel.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Collection
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantModel

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
# Ten years: longer is "forever" (leave it empty), and the nightly purge computes its
# cut-off date from it (2147483647 days overflowed every night).
MAX_USAGE_EVENT_RETENTION_DAYS = 3650
MAX_SURVEY_QUIET_DAYS = 3650


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
    # The reporting currency (docs/metrics.md#currencies): every figure is in it, every
    # exchange rate is a rate to it; chosen at creation, never changed afterwards.
    currency = models.CharField(
        _("reporting currency"),
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as BRL or USD."))],
        help_text=_(
            "Every figure is in this currency; subscriptions billed in another are converted "
            "at their start day's exchange rate."
        ),
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
        validators=[MaxValueValidator(MAX_SURVEY_QUIET_DAYS)],
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
        validators=[
            MinValueValidator(MIN_USAGE_EVENT_RETENTION_DAYS),
            MaxValueValidator(MAX_USAGE_EVENT_RETENTION_DAYS),
        ],
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

    # The reporting currency as loaded, for clean() to tell a change without a query.
    _stored_currency: str | None = None

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> Organization:
        organization = super().from_db(db, field_names, values, **kwargs)
        organization._stored_currency = dict(zip(field_names, values, strict=True)).get("currency")
        return organization

    def clean(self) -> None:
        super().clean()
        self.currency_change_check(old=self._stored_currency)

    def currency_change_check(self, *, old: str | None) -> None:
        """The reporting currency cannot change from `old` (the stored one; None for a
        new organization) once the organization has subscriptions or exchange rates:
        every rate is a rate to it, and every subscription's reported amounts were
        converted to it (docs/metrics.md#currencies). Raises ValidationError on
        `currency`. Called by clean() and by accounts.services.organization_update,
        which saves without a full clean."""
        if old is None or old == self.currency:
            return
        from accounts.models.customers import ExchangeRate, Subscription
        from csplatform.tenancy import tenant_context

        with tenant_context(self):
            used = ExchangeRate.objects.exists() or Subscription.objects.exists()
        if used:
            raise ValidationError(
                {
                    "currency": _(
                        "The reporting currency cannot be changed: this organization has "
                        "subscriptions or exchange rates converted to %(currency)s."
                    )
                    % {"currency": old}
                }
            )


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


class MemberInvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class MemberInvitation(TenantModel):
    """An emailed invitation to join an organization with a role, valid until it expires
    (not a survey invitation: that is surveys.Invitation)."""

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
    def status(self) -> MemberInvitationStatus:
        if self.accepted_at:
            return MemberInvitationStatus.ACCEPTED
        if self.revoked_at:
            return MemberInvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return MemberInvitationStatus.EXPIRED
        return MemberInvitationStatus.PENDING

    @property
    def is_open(self) -> bool:
        return self.status == MemberInvitationStatus.PENDING


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
