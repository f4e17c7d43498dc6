"""The project's shared template components, as inclusion tags: a page says what it
shows (`{% form_fields form %}`), not which file holds the markup.

    {% load components %}
    {% form_fields invitation_form %}   a form's fields, with help and errors
    {% chart_scripts %}                 plotly.js and the charts' loader (block scripts)
"""

from __future__ import annotations

from typing import Any

from django import forms, template

register = template.Library()


@register.inclusion_tag("form_fields.html")
def form_fields(form: forms.BaseForm) -> dict[str, Any]:
    """Every field of `form` with its label, help text and errors, after the form's own
    errors."""
    return {"form": form}


@register.inclusion_tag("chart_scripts.html")
def chart_scripts() -> dict[str, Any]:
    """The scripts that draw the page's plotly figures (served from static, no CDN)."""
    return {}
