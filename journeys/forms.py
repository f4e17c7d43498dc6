"""Forms of the journey pages. Uniqueness per organization is the services' to check
(the organization is not a field of any form); they raise ValidationError naming the
field, which the views put back on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from journeys.models import CoreFeature, LifecycleStage, ValueMilestone

USAGE_EVENT_LIST = "usage-event-names"  # the id of the page's <datalist> of event names


class LifecycleStageForm(forms.ModelForm):
    class Meta:
        model = LifecycleStage
        fields = ["key", "name_en", "name_pt_br"]
        help_texts = {
            "key": _(
                "What accounts, imports and the API use for this stage: lowercase letters, "
                "digits, hyphens and underscores. It cannot be changed later."
            )
        }

    def clean_key(self) -> str:
        return str(self.cleaned_data["key"]).lower()


class LifecycleStageRenameForm(forms.ModelForm):
    class Meta:
        model = LifecycleStage
        fields = ["name_en", "name_pt_br"]


def _stage_choices(stages: list[LifecycleStage], language: str) -> list[tuple[str, str]]:
    return [(s.key, s.name(language)) for s in stages]


class TouchpointTypePlaceForm(forms.Form):
    lifecycle_stage = forms.ChoiceField(label=_("Stage"), required=False)

    def __init__(
        self, *args: Any, stages: list[LifecycleStage], language: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lifecycle_stage"].choices = [  # type: ignore[attr-defined]
            ("", _("On no stage")),
            *_stage_choices(stages, language),
        ]


class AccountStageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Lifecycle stage"))

    def __init__(
        self, *args: Any, stages: list[LifecycleStage], language: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = _stage_choices(stages, language)  # type: ignore[attr-defined]


class ValueMilestoneForm(forms.ModelForm):
    class Meta:
        model = ValueMilestone
        fields = ["event_name", "name"]
        labels = {"event_name": _("Usage event"), "name": _("Label")}
        help_texts = {
            "event_name": _(
                "The event name your product sends, e.g. <code>report.generated</code>."
            ),
            "name": _("How the milestone is called on the pages, e.g. First report generated."),
        }
        widgets = {"event_name": forms.TextInput(attrs={"list": USAGE_EVENT_LIST})}


class CoreFeatureForm(forms.ModelForm):
    class Meta:
        model = CoreFeature
        fields = ["feature"]
        labels = {"feature": _("Usage event")}
        help_texts = {
            "feature": _("A feature (event name) that counts towards adoption."),
        }
        widgets = {"feature": forms.TextInput(attrs={"list": USAGE_EVENT_LIST})}
