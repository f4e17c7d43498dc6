from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Segment
from surveys.models import Campaign, Survey


class SurveyForm(forms.ModelForm):
    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        # The constraint is per organization, which is not a field of the form.
        if Survey.objects.filter(name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                _("A survey named “%(name)s” exists already."), params={"name": name}
            )
        return name

    class Meta:
        model = Survey
        fields = [
            "name",
            "kind",
            "question_en",
            "question_pt_br",
            "follow_up_en",
            "follow_up_pt_br",
            "touchpoint",
        ]


class CampaignForm(forms.ModelForm):
    # Declared, not generated: a generated field would read the tenant-owned surveys when
    # the class is defined, outside any organization. Its choices are set per request.
    survey: forms.ModelChoiceField[Survey] = forms.ModelChoiceField(
        queryset=None, label=_("survey")
    )
    audience: forms.ModelChoiceField[Segment] = forms.ModelChoiceField(
        queryset=None,
        label=_("Audience"),
        required=False,
        empty_label=_("Every account"),
        help_text=_("A saved segment of accounts (build one from the accounts list)."),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "audience",
            "include_former_customers",
            "starts_at",
            "repeat_every_days",
            "remind_after_days",
        ]
        widgets = {"starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = Survey.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["audience"].queryset = Segment.objects.order_by("name")  # type: ignore[attr-defined]
        self.order_fields(["survey", "name"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("repeat_every_days") and not cleaned.get("starts_at"):
            self.add_error("starts_at", _("A repeating campaign needs its first send date."))
        if cleaned.get("survey") is not None:
            self.instance.survey = cleaned["survey"]
        return cleaned
