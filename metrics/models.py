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


class MetricsState(TenantModel):
    """Per organization: since which month the stored metrics are stale (null: up to date)."""

    dirty_since = models.DateField(_("stale since"), null=True)
    computed_at = models.DateTimeField(_("last computed"), null=True)
    full_computed_at = models.DateTimeField(_("last full recompute"), null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="metrics_state_unique")
        ]
