"""The benchmarks form: one row per benchmark, percentages typed as percentages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csplatform.texts import StoredTextModelForm
from dashboards.models import Benchmark, BenchmarkUnit

# A percentage as typed (0…1,000 %); stored as a fraction.
MAX_PERCENT = 1000


class BenchmarkForm(StoredTextModelForm):
    """A benchmark's label, value or range, source, year and note. The metric it applies
    to is fixed; an empty low or high means a single value."""

    stored_text_fields = ("label", "note")
    label = Benchmark._meta.get_field("custom_label").formfield(required=True)
    note = Benchmark._meta.get_field("custom_note").formfield()

    low = forms.DecimalField(
        label=_("Low (%)"), required=False, min_value=0, max_value=MAX_PERCENT, decimal_places=2
    )
    high = forms.DecimalField(
        label=_("High (%)"), required=False, min_value=0, max_value=MAX_PERCENT, decimal_places=2
    )
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1990)

    class Meta:
        model = Benchmark
        fields = ["label", "low", "high", "source", "year", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.unit == BenchmarkUnit.PERCENT:
            for name in ("low", "high"):
                stored = getattr(self.instance, name)
                self.initial[name] = None if stored is None else round(stored * 100, 2)

    def clean_year(self) -> int | None:
        year: int | None = self.cleaned_data.get("year")
        if year is not None and year > timezone.now().year:
            raise forms.ValidationError(
                _("%(year)s is in the future: give the year the figures describe.") % {"year": year}
            )
        return year

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("low"), cleaned.get("high")
        if "low" in cleaned and "high" in cleaned:
            if low is None and high is None:
                raise forms.ValidationError(_("Give a value: a low, a high, or both."))
            if low is not None and high is not None and low > high:
                self.add_error("high", _("The high end must not be below the low end."))
        return cleaned

    def save(self, commit: bool = True) -> Benchmark:
        benchmark: Benchmark = super().save(commit=False)
        low, high = self.cleaned_data["low"], self.cleaned_data["high"]
        low, high = (high if low is None else low), (low if high is None else high)
        benchmark.low = None if low is None else float(low) / 100
        benchmark.high = None if high is None else float(high) / 100
        if commit:
            benchmark.save()
        return benchmark


BenchmarkFormSet = forms.modelformset_factory(
    Benchmark, form=BenchmarkForm, extra=0, can_delete=False, edit_only=True
)
