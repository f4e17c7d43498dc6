"""Stored metric results, per organization: one row per month, one per cohort.

Written only by metrics.services.metrics_recompute, which replaces an
organization's rows inside one transaction: readers see the previous results
or the new ones, never a mix. Dashboards read these tables, never the source.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantModel


class MonthlyMetrics(TenantModel):
    """Revenue metrics of one calendar month (organization's time zone), as of its last day.

    Amounts are integer cents; rates are fractions, null where undefined.
    """

    month = models.DateField(_("month"), help_text=_("The month's first day."))
    mrr = models.BigIntegerField(_("MRR"))
    customers = models.IntegerField(_("customers"))
    new = models.BigIntegerField(_("new MRR"))
    expansion = models.BigIntegerField(_("expansion MRR"))
    contraction = models.BigIntegerField(_("contraction MRR"))
    churn = models.BigIntegerField(_("churned MRR"))
    reactivation = models.BigIntegerField(_("reactivation MRR"))
    new_customers = models.IntegerField(_("new customers"))
    churned_customers = models.IntegerField(_("churned customers"))
    reactivated_customers = models.IntegerField(_("reactivated customers"))
    expansion_customers = models.IntegerField(_("expanding customers"))
    contraction_customers = models.IntegerField(_("contracting customers"))
    logo_churn_rate = models.FloatField(_("logo churn rate"), null=True)
    gross_mrr_churn_rate = models.FloatField(_("gross MRR churn rate"), null=True)
    net_mrr_churn_rate = models.FloatField(_("net MRR churn rate"), null=True)
    expansion_rate = models.FloatField(_("expansion rate"), null=True)
    quick_ratio = models.FloatField(_("quick ratio"), null=True)
    nrr = models.FloatField(_("NRR (trailing 12 months)"), null=True)
    grr = models.FloatField(_("GRR (trailing 12 months)"), null=True)
    arpa = models.FloatField(_("ARPA (cents)"), null=True)
    arr = models.BigIntegerField(_("ARR"))
    renewals_due = models.IntegerField(_("renewals due"))
    renewals_renewed = models.IntegerField(_("renewals renewed"))
    renewals_due_mrr = models.BigIntegerField(_("MRR up for renewal"))
    renewals_renewed_mrr = models.BigIntegerField(_("MRR renewed"))
    renewal_rate = models.FloatField(_("renewal rate"), null=True)
    renewal_mrr_rate = models.FloatField(_("renewal rate by MRR"), null=True)
    clv = models.FloatField(_("simple CLV (cents)"), null=True)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("monthly metrics")
        verbose_name_plural = _("monthly metrics")
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="monthly_metrics_unique")
        ]


class CohortInterval(models.TextChoices):
    MONTH = "month", _("Monthly")
    QUARTER = "quarter", _("Quarterly")
    YEAR = "year", _("Yearly")


class CohortMetrics(TenantModel):
    """A cohort's retention tables, its sBG fit and projection (where it could be fitted)."""

    interval = models.CharField(_("interval"), max_length=8, choices=CohortInterval.choices)
    start = models.DateField(_("start"), help_text=_("First day of the cohort's first period."))
    label = models.CharField(_("cohort"), max_length=10)
    size = models.IntegerField(_("size"))
    starting_mrr = models.BigIntegerField(_("starting MRR"))
    survivors = ArrayField(models.IntegerField(), verbose_name=_("survivors"))
    logo_retention = ArrayField(models.FloatField(), verbose_name=_("logo retention"))
    revenue_retention = ArrayField(models.FloatField(), verbose_name=_("revenue retention"))
    alpha = models.FloatField(null=True)
    beta = models.FloatField(null=True)
    log_likelihood = models.FloatField(null=True)
    fit_note = models.CharField(_("why not fitted"), max_length=200, blank=True)
    projection = models.JSONField(_("projected survival"), default=list)
    clv = models.FloatField(_("projected CLV (cents)"), null=True)
    clv_low = models.FloatField(null=True)
    clv_high = models.FloatField(null=True)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("cohort metrics")
        verbose_name_plural = _("cohort metrics")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "interval", "start"], name="cohort_metrics_unique"
            )
        ]


def _array(base: models.Field, name: str) -> ArrayField:
    return ArrayField(base, verbose_name=name, default=list)


class MonthTerms(TenantModel):
    """The current month's metrics kept as per-account terms, one row per organization
    (see metrics.terms).

    Every column of a month is a sum over accounts of a function of four numbers per
    account: its MRR at the end of the month (`mrr`), of the month before
    (`previous_mrr`) and of the same month a year before (`base_mrr`), and whether it
    had been a customer before (`was_customer`); the renewal counts are sums over
    renewal dates. A run that reads the whole history stores every account's terms
    as parallel arrays sorted by account (accounts whose three amounts are 0 add
    nothing and are left out), and every renewal date of the month whether its day
    after has come or not. A run from a few changed accounts leaves those as they
    are and keeps the changed accounts' terms and dates in the `changed_` arrays,
    which take precedence; it updates the sums by the difference. Besides the
    month's own row (MonthlyMetrics), the sums are those the rates divide by, and
    the renewals by day of the month (element d − 1: dates on day d).
    """

    month = models.DateField(_("month"))
    account_ids = _array(models.BigIntegerField(), "account_ids")
    mrr = _array(models.BigIntegerField(), "mrr")
    previous_mrr = _array(models.BigIntegerField(), "previous_mrr")
    base_mrr = _array(models.BigIntegerField(), "base_mrr")
    was_customer = _array(models.BooleanField(), "was_customer")
    renewal_account_ids = _array(models.BigIntegerField(), "renewal_account_ids")
    renewal_on = _array(models.DateField(), "renewal_on")
    renewal_mrr = _array(models.BigIntegerField(), "renewal_mrr")
    renewal_renewed = _array(models.BooleanField(), "renewal_renewed")
    changed_account_ids = _array(models.BigIntegerField(), "changed_account_ids")
    changed_mrr = _array(models.BigIntegerField(), "changed_mrr")
    changed_previous_mrr = _array(models.BigIntegerField(), "changed_previous_mrr")
    changed_base_mrr = _array(models.BigIntegerField(), "changed_base_mrr")
    changed_was_customer = _array(models.BooleanField(), "changed_was_customer")
    changed_renewal_account_ids = _array(models.BigIntegerField(), "changed_renewal_account_ids")
    changed_renewal_on = _array(models.DateField(), "changed_renewal_on")
    changed_renewal_mrr = _array(models.BigIntegerField(), "changed_renewal_mrr")
    changed_renewal_renewed = _array(models.BooleanField(), "changed_renewal_renewed")
    sum_previous_mrr = models.BigIntegerField(default=0)
    previous_customers = models.IntegerField(default=0)
    sum_base_mrr = models.BigIntegerField(default=0)
    sum_retained_mrr = models.BigIntegerField(default=0)
    sum_kept_mrr = models.BigIntegerField(default=0)
    due_by_day = _array(models.IntegerField(), "due_by_day")
    renewed_by_day = _array(models.IntegerField(), "renewed_by_day")
    due_mrr_by_day = _array(models.BigIntegerField(), "due_mrr_by_day")
    renewed_mrr_by_day = _array(models.BigIntegerField(), "renewed_mrr_by_day")

    class Meta:
        verbose_name = _("current month's terms")
        verbose_name_plural = _("current month's terms")
        constraints = [models.UniqueConstraint(fields=["organization"], name="month_terms_unique")]


class MetricsState(TenantModel):
    """Per organization: since which month the stored metrics are stale (null: up to date),
    and which accounts changed (null: unknown, or too many to recompute one by one)."""

    dirty_since = models.DateField(_("stale since"), null=True)
    dirty_accounts = ArrayField(
        models.BigIntegerField(), verbose_name=_("changed accounts"), null=True
    )
    terms_month = models.DateField(_("month of the stored terms"), null=True)
    computed_at = models.DateTimeField(_("last computed"), null=True)
    full_computed_at = models.DateTimeField(_("last full recompute"), null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="metrics_state_unique")
        ]


class SatisfactionMetrics(TenantModel):
    """NPS, CSAT or CES of one month (organization's time zone), over all responses
    (`dimension` "all") or those of one touchpoint, segment or lifecycle stage (`key`).

    `value`: NPS −100…100, CSAT % of 4–5, CES mean 1…7; `margin`: its 95 % margin of
    error (points); `high`/`low`: % promoters/detractors (NPS), % 4–5/1–2 (CSAT),
    % 5–7/1–3 (CES); `mean`: the mean score (CSAT, CES).
    """

    month = models.DateField(_("month"))
    kind = models.CharField(_("kind"), max_length=8)
    dimension = models.CharField(_("by"), max_length=16)
    key = models.CharField(_("value"), max_length=100, blank=True)
    n = models.IntegerField(_("responses"))
    value = models.FloatField(_("score"))
    margin = models.FloatField(_("margin of error"), null=True)
    high = models.FloatField(null=True)
    low = models.FloatField(null=True)
    mean = models.FloatField(null=True)

    class Meta:
        verbose_name = _("satisfaction metrics")
        verbose_name_plural = _("satisfaction metrics")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "kind", "dimension", "key"],
                name="satisfaction_metrics_unique",
            )
        ]


# --- health ----------------------------------------------------------------------------


class HealthComponent(models.TextChoices):
    """The components of the health score, in the order they are shown."""

    ENGAGEMENT = "engagement", _("Engagement")
    ADOPTION = "adoption", _("Adoption")
    SATISFACTION = "satisfaction", _("Satisfaction")
    REVENUE_TREND = "revenue_trend", _("Revenue trend")
    SUPPORT_LOAD = "support_load", _("Support load")
    OUTCOMES = "outcomes", _("Outcomes")
    RENEWAL_PROXIMITY = "renewal_proximity", _("Renewal proximity")


DEFAULT_HEALTH_WEIGHTS = {
    HealthComponent.ENGAGEMENT: 25,
    HealthComponent.ADOPTION: 15,
    HealthComponent.SATISFACTION: 20,
    HealthComponent.REVENUE_TREND: 15,
    HealthComponent.SUPPORT_LOAD: 10,
    HealthComponent.OUTCOMES: 10,
    HealthComponent.RENEWAL_PROXIMITY: 5,
}
DEFAULT_ENGAGEMENT_WEIGHTS = {"frequency": 40, "breadth": 30, "depth": 30}


def default_health_weights() -> dict[str, int]:
    return {str(k): v for k, v in DEFAULT_HEALTH_WEIGHTS.items()}


def default_engagement_weights() -> dict[str, int]:
    return dict(DEFAULT_ENGAGEMENT_WEIGHTS)


class HealthBand(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    NEUTRAL = "neutral", _("Neutral")
    AT_RISK = "at_risk", _("At risk")


class HealthModel(TenantModel):
    """The organization's health model: component weights, bands, the engagement mix and
    the adoption threshold (see docs/metrics.md, Health). One row per organization;
    `metrics.health.model.health_model()` creates it with the defaults."""

    weights = models.JSONField(_("component weights"), default=default_health_weights)
    healthy_from = models.PositiveSmallIntegerField(_("healthy from"), default=70)
    at_risk_below = models.PositiveSmallIntegerField(_("at risk below"), default=40)
    engagement_weights = models.JSONField(
        _("engagement weights"), default=default_engagement_weights
    )
    adoption_threshold = models.PositiveSmallIntegerField(
        _("adoption threshold"),
        default=2,
        help_text=_("Core features a customer uses in 30 days to count as adopted."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        "accounts.User", on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("health model")
        verbose_name_plural = _("health models")
        constraints = [models.UniqueConstraint(fields=["organization"], name="health_model_unique")]


class AccountHealth(TenantModel):
    """One customer's health on one day (the organization's time zone): the score, its
    band, each component's value (0–100, null: no data) and its contribution in
    points (the score is their sum), the triad flags, and the engagement inputs."""

    account = models.ForeignKey("accounts.Account", on_delete=models.DB_CASCADE, related_name="+")
    day = models.DateField(_("day"))
    score = models.FloatField(_("health score"))
    band = models.CharField(_("band"), max_length=8, choices=HealthBand.choices)
    engagement = models.FloatField(_("engagement"), null=True)
    adoption = models.FloatField(_("adoption"), null=True)
    satisfaction = models.FloatField(_("satisfaction"), null=True)
    revenue_trend = models.FloatField(_("revenue trend"), null=True)
    support_load = models.FloatField(_("support load"), null=True)
    outcomes = models.FloatField(_("outcomes"), null=True)
    renewal_proximity = models.FloatField(_("renewal proximity"), null=True)
    # {component: points}: what each component added to the score under that day's weights.
    contributions = models.JSONField(_("contributions"), default=dict)
    flags = ArrayField(models.CharField(max_length=24), verbose_name=_("flags"), default=list)
    active_days = models.PositiveSmallIntegerField(_("active days in 30"), default=0)
    features_used = models.PositiveSmallIntegerField(_("features used in 30 days"), default=0)
    core_features_used = models.PositiveSmallIntegerField(_("core features used"), default=0)
    active_contacts = models.PositiveIntegerField(_("active contacts in 30 days"), default=0)
    contacts = models.PositiveIntegerField(_("contacts"), default=0)
    # Null: the day's own (nightly or on-change) snapshot. Else computed after the fact
    # by the backfill (metrics.health.backfill), as of the day, at this instant.
    backfilled_at = models.DateTimeField(_("computed afterwards at"), null=True)

    class Meta:
        verbose_name = _("account health")
        verbose_name_plural = _("account health")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "account"], name="account_health_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "account", "day"], name="account_health_acct_idx")
        ]


class AdoptionMetrics(TenantModel):
    """Product adoption on one day: customers, those using at least the threshold of
    core features in the last 30 days, and how many customers used each feature."""

    day = models.DateField(_("day"))
    customers = models.IntegerField(_("customers"))
    adopted = models.IntegerField(_("adopted"))
    adoption_rate = models.FloatField(_("adoption rate"), null=True)
    # {feature: customers that used it in the 30 days}
    feature_customers = models.JSONField(_("customers per feature"), default=dict)
    backfilled_at = models.DateTimeField(_("computed afterwards at"), null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="adoption_metrics_unique")
        ]


class BackfillReason(models.TextChoices):
    DATA_LOADED = "data_loaded", _("Data was first loaded")
    MODEL_CHANGED = "model_changed", _("The health model changed")
    REQUESTED = "requested", _("Requested by an operator")


class HealthBackfill(TenantModel):
    """The organization's health history backfill (metrics.health.backfill): why and when
    it was asked for, the day it fills the history up to (excluded), and how far it got.
    One row per organization; a new request bumps `generation`, which stops a run still
    working on the previous one."""

    reason = models.CharField(_("reason"), max_length=16, choices=BackfillReason.choices)
    generation = models.PositiveIntegerField(_("generation"), default=1)
    through = models.DateField(_("history up to (excluded)"))
    days_total = models.PositiveIntegerField(_("days to compute"), default=0)
    days_done = models.PositiveIntegerField(_("days computed"), default=0)
    requested_at = models.DateTimeField(_("requested"))
    finished_at = models.DateTimeField(_("finished"), null=True)

    class Meta:
        verbose_name = _("health history backfill")
        verbose_name_plural = _("health history backfills")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="health_backfill_unique")
        ]


class TimeToValueCohort(TenantModel):
    """Time to value of the customers who started in one month: how many reached a value
    milestone, the median days it took, and the share still waiting."""

    month = models.DateField(_("cohort"))
    customers = models.IntegerField(_("customers"))
    reached = models.IntegerField(_("reached value"))
    median_days = models.FloatField(_("median days to value"), null=True)
    waiting_share = models.FloatField(_("share still waiting"), null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="ttv_cohort_unique")
        ]
