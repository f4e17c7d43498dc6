from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from metrics.health.model import COMPONENTS, ENGAGEMENT_PARTS, Model
from metrics.models import HealthComponent, HealthModel

ENGAGEMENT_LABELS = {
    "frequency": _("Access frequency (active days in 30)"),
    "breadth": _("Breadth (features used in 30 days)"),
    "depth": _("Depth (active contacts ÷ contacts)"),
}


def _weight(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=100)


class HealthModelForm(forms.Form):
    """The health model: a weight per component (renormalized over the components an
    account has data for), the bands, the engagement mix and the adoption threshold."""

    healthy_from = forms.IntegerField(label=_("Healthy from"), min_value=1, max_value=100)
    at_risk_below = forms.IntegerField(label=_("At risk below"), min_value=0, max_value=99)
    adoption_threshold = forms.IntegerField(
        label=_("Adoption threshold (core features used in 30 days)"), min_value=1, max_value=50
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(HealthComponent.choices)
        for component in COMPONENTS:
            self.fields[f"weight_{component}"] = _weight(labels[component])
        for part in ENGAGEMENT_PARTS:
            self.fields[f"engagement_{part}"] = _weight(ENGAGEMENT_LABELS[part])

    @classmethod
    def initial_from(cls, stored: HealthModel) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "healthy_from": stored.healthy_from,
            "at_risk_below": stored.at_risk_below,
            "adoption_threshold": stored.adoption_threshold,
        }
        for component in COMPONENTS:
            initial[f"weight_{component}"] = stored.weights.get(component, 0)
        for part in ENGAGEMENT_PARTS:
            initial[f"engagement_{part}"] = stored.engagement_weights.get(part, 0)
        return initial

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{c}"] for c in COMPONENTS]

    def engagement_fields(self) -> list[forms.BoundField]:
        return [self[f"engagement_{p}"] for p in ENGAGEMENT_PARTS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if not any(data[f"weight_{c}"] for c in COMPONENTS):
            raise forms.ValidationError(
                _("Give at least one component a weight above 0."), code="weights"
            )
        if not any(data[f"engagement_{p}"] for p in ENGAGEMENT_PARTS):
            self.add_error(
                "engagement_frequency",
                _("Give at least one part of engagement a weight above 0."),
            )
        if data["at_risk_below"] >= data["healthy_from"]:
            self.add_error(
                "at_risk_below",
                _("“At risk below” must be lower than “Healthy from” (%(healthy)s).")
                % {"healthy": data["healthy_from"]},
            )
        return data

    def model(self) -> Model:
        """The proposed model (call after is_valid)."""
        data = self.cleaned_data
        return Model(
            weights={c: float(data[f"weight_{c}"]) for c in COMPONENTS},
            healthy_from=data["healthy_from"],
            at_risk_below=data["at_risk_below"],
            engagement_weights={p: float(data[f"engagement_{p}"]) for p in ENGAGEMENT_PARTS},
            adoption_threshold=data["adoption_threshold"],
        )
