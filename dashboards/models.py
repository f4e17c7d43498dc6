"""What the dashboards keep of their own: the organization's board benchmarks (data the
organization edits, never code) and a record of the monthly executive emails sent."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.tenancy import TenantModel
from csplatform.texts import key_or_text, stored_text


class BenchmarkMetric(models.TextChoices):
    """The executive dashboard's figures a benchmark can be set against."""

    LOGO_CHURN_RATE = "logo_churn_rate", _("Monthly logo churn")
    NRR = "nrr", _("NRR")
    GRR = "grr", _("GRR")
    GROSS_DOLLAR_CHURN = "gross_dollar_churn", _("Annual gross dollar churn")


class BenchmarkUnit(models.TextChoices):
    # A percentage is stored as a fraction (0.05 for 5 %), as every rate in code.
    PERCENT = "percent", _("%")


class Benchmark(TenantModel):
    """An industry reference for one dashboard figure: a value or a range (`low`…`high`,
    fractions for a percentage), with where it comes from and the year it describes.
    Created from the defaults with the organization (dashboards.apps, through
    accounts.signals.organization_created; dashboards.services.benchmarks_ensure)."""

    metric = models.CharField(_("metric"), max_length=24, choices=BenchmarkMetric.choices)
    # Label and note: a default's key (dashboards.services) or what an admin typed.
    label_key = models.CharField(max_length=100, blank=True)
    custom_label = models.CharField(_("label"), max_length=120, blank=True)
    low = models.FloatField(_("low"), null=True, blank=True)
    high = models.FloatField(_("high"), null=True, blank=True)
    unit = models.CharField(
        _("unit"), max_length=8, choices=BenchmarkUnit.choices, default=BenchmarkUnit.PERCENT
    )
    source = models.CharField(_("source"), max_length=200)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    note_key = models.CharField(max_length=100, blank=True)
    custom_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("benchmark")
        verbose_name_plural = _("benchmarks")
        constraints = [
            models.UniqueConstraint(fields=["organization", "metric"], name="benchmark_unique"),
            key_or_text(key="label_key", text="custom_label", name="benchmark_label_key_or_text"),
            key_or_text(key="note_key", text="custom_note", name="benchmark_note_key_or_text"),
        ]

    label = stored_text(key="label_key", custom="custom_label")
    note = stored_text(key="note_key", custom="custom_note")

    def __str__(self) -> str:
        return self.label


class ExecutiveDigest(TenantModel):
    """The monthly executive email of one month (its first day), sent to the viewers at
    `sent_at`: recorded so a second run for the same month sends nothing."""

    month = models.DateField(_("month"))
    sent_at = models.DateTimeField(_("sent"))
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("executive digest")
        verbose_name_plural = _("executive digests")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month"], name="executive_digest_unique"
            )
        ]
