"""Customer data: the organization's customers (accounts), their contacts,
subscriptions and notes. Every model here is tenant-owned.

A subscription's MRR and billing interval in months are generated columns: the one
definition every reader uses (docs/metrics.md).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Cast, Lower, Mod, Round
from django.db.models.lookups import Exact, GreaterThan
from django.utils.translation import gettext_lazy as _

from accounts.models.identity import LOCALE_CHOICES
from accounts.models.search_text import SearchText, SearchWords
from csplatform.bounds import validate_attributes, validate_day
from csplatform.tenancy import TenantModel


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
    signup_date = models.DateField(
        _("signup date"), null=True, blank=True, validators=[validate_day]
    )
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=50, blank=True)
    custom_attributes = models.JSONField(
        _("custom attributes"), default=dict, blank=True, validators=[validate_attributes]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Search (accounts.search) reads the name and id folded (lower case, no accents)
    # and the name's words, kept by Postgres beside them: folding each row at every
    # search would cost more than the search itself.
    search_name = models.GeneratedField(
        expression=SearchText("name"), output_field=models.TextField(), db_persist=True
    )
    search_code = models.GeneratedField(
        expression=SearchText("external_id"), output_field=models.TextField(), db_persist=True
    )
    search_words = models.GeneratedField(
        expression=SearchWords(SearchText("name")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

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
            # Search (docs/search.md: which reads use them, and why row-level security
            # keeps the application's own searches on the organization's rows).
            GinIndex(OpClass("search_name", name="gin_trgm_ops"), name="account_name_trgm_idx"),
            GinIndex(
                OpClass("search_code", name="gin_trgm_ops"), name="account_external_id_trgm_idx"
            ),
            GinIndex(fields=["search_words"], name="account_name_words_idx"),
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
    # Search (accounts.search), as on Account.
    search_name = models.GeneratedField(
        expression=SearchText("name"), output_field=models.TextField(), db_persist=True
    )
    search_email = models.GeneratedField(
        expression=SearchText("email"), output_field=models.TextField(), db_persist=True
    )
    search_words = models.GeneratedField(
        expression=SearchWords(SearchText("name")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

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
            # Search, as on Account.
            GinIndex(OpClass("search_name", name="gin_trgm_ops"), name="contact_name_trgm_idx"),
            GinIndex(OpClass("search_email", name="gin_trgm_ops"), name="contact_email_trgm_idx"),
            GinIndex(fields=["search_words"], name="contact_name_words_idx"),
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


def _mrr_cents(amount: models.Expression | models.F | None = None) -> models.Expression:
    """SQL: `amount` (integer cents per billing interval; the billed `amount_cents`
    unless given) ÷ the interval's months, rounded to the cent half to even, in
    integers (no float). A generated column cannot read another one, so the months
    are spelled again here, from the same expression."""
    cents = amount if amount is not None else models.F("amount_cents")
    months = _interval_months()
    whole = cents / months
    twice_rest = Mod(cents, months) * models.Value(2)
    rounds_up = GreaterThan(twice_rest, months) | (
        Exact(twice_rest, months) & Exact(Mod(whole, models.Value(2)), models.Value(1))
    )
    return whole + models.Case(
        models.When(rounds_up, then=models.Value(1)),
        default=models.Value(0),
        output_field=models.BigIntegerField(),
    )


def _reported_amount_cents() -> models.Expression:
    """SQL: the amount per billing interval in the reporting currency: the billed cents
    × `fx_rate`, rounded to the cent (half away from zero, Postgres's numeric round);
    NULL without a rate. With a rate of exactly 1 it is the billed amount, unchanged."""
    return Cast(Round(models.F("amount_cents") * models.F("fx_rate")), models.BigIntegerField())


# Exchange rates: 1 unit of a currency = `rate` units of the reporting currency, kept
# with 12 decimals (the ECB's cross rates of weak currencies need them).
FX_RATE_DIGITS = 24
FX_RATE_DECIMALS = 12


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
    started_on = models.DateField(_("started on"), validators=[validate_day])
    ended_on = models.DateField(
        _("ended on"),
        null=True,
        blank=True,
        validators=[validate_day],
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
    # Currencies (docs/metrics.md#currencies): the rate of the latest day on or before
    # `started_on` (exactly 1 in the reporting currency; NULL while none is known),
    # written only by accounts.fx.subscription_rates_refresh. The reported amounts are
    # what every figure reads; the billed ones above are kept beside them.
    fx_rate = models.DecimalField(
        _("exchange rate"),
        max_digits=FX_RATE_DIGITS,
        decimal_places=FX_RATE_DECIMALS,
        null=True,
        blank=True,
        editable=False,
    )
    reported_amount_cents = models.GeneratedField(
        expression=_reported_amount_cents(),
        output_field=models.BigIntegerField(
            _("amount per billing interval in the reporting currency (cents)"), null=True
        ),
        db_persist=True,
    )
    reported_mrr_cents = models.GeneratedField(
        expression=_mrr_cents(_reported_amount_cents()),
        output_field=models.BigIntegerField(_("MRR in the reporting currency (cents)"), null=True),
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


class ExchangeRate(TenantModel):
    """A day's exchange rate of a currency to the organization's reporting currency:
    1 unit of `currency` = `rate` units of it. Loaded by the "exchange rates" import
    (accounts.fx); a day imported again is replaced."""

    day = models.DateField(_("day"))
    currency = models.CharField(_("currency"), max_length=3)
    rate = models.DecimalField(
        _("rate to the reporting currency"),
        max_digits=FX_RATE_DIGITS,
        decimal_places=FX_RATE_DECIMALS,
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            # Also the index of the lookup "latest day on or before" per currency.
            models.UniqueConstraint(
                fields=["organization", "currency", "day"], name="exchange_rate_day_unique"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.day}: {self.rate}"


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
