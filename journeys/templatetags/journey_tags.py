"""Template filters of the journey pages."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils import translation

from journeys.models import LifecycleStage

register = template.Library()


@register.filter
def stage_name(stage: LifecycleStage) -> str:
    """The stage's name in the active language (its pt-BR name for Portuguese)."""
    return stage.name(translation.get_language() or "en")


@register.filter
def percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction (0.5) as a localized percentage ("50.0 %"); "—" for None."""
    if fraction is None:
        return "—"
    return f"{floatformat(fraction * 100, digits)} %"
