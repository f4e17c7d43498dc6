"""The dashboards' shared fragments, as inclusion tags named for what they render.

{% load dashboard_components %}
{% account_sort_header headers.mrr numeric=True %}
    a sortable column header of the accounts list (needs `list_url` and `query`)
{% empty_state _("No playbooks yet") _("Start from the defaults…") %}
    what a section shows before it has data, and where to go to get some
{% definition "definition-mrr" _("How MRR is computed") _("Definition: …") _("MRR = …") %}
    a section's "how it is computed": the summary, the explanation's paragraphs,
    then the reference in docs/metrics.md
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def _text(value: Any) -> str:
    """A `_("…")` argument as `{% translate %}` shows it: Django doubles its percent
    signs for the catalogue lookup, and only the translate tag undoes them (a literal
    of the template stays safe, as there)."""
    text = str(value)
    # Of the same class: a template's literal (SafeString) stays one, anything else is
    # escaped when shown.
    return type(text)(text.replace("%%", "%"))


@register.inclusion_tag("dashboards/components/account_sort_header.html", takes_context=True)
def account_sort_header(
    context: template.Context, header: Any, *, numeric: bool = False
) -> dict[str, Any]:
    """A column header that sorts the accounts list by it, keeping its filters."""
    return {
        "header": header,
        "numeric": numeric,
        "list_url": context.get("list_url", ""),
        "query": context.get("query", ""),
    }


@register.inclusion_tag("dashboards/components/missing_rates.html", takes_context=True)
def missing_rates_notice(context: template.Context) -> dict[str, Any]:
    """The subscriptions left out of the figures for want of an exchange rate
    (accounts.fx.missing_rates_context in the page's context): named, or counted per
    currency for a board viewer; nothing when there are none."""
    names = (
        "missing_rates",
        "missing_rates_by_currency",
        "missing_rates_count",
        "organization",
        "can",
    )
    return {name: context.get(name) for name in names}


@register.inclusion_tag("dashboards/components/empty_state.html")
def empty_state(
    title: str,
    text: str,
    *,
    heading: str = "h3",
    action_url: str = "",
    action_label: str = "",
) -> dict[str, Any]:
    """A section without data yet: a `heading` (h2 or h3), why, and an optional link."""
    return {
        "title": _text(title),
        "text": _text(text),
        "heading": heading if heading in {"h2", "h3"} else "h3",
        "action_url": action_url,
        "action_label": _text(action_label),
    }


@register.inclusion_tag("dashboards/components/definition.html")
def definition(element_id: str, summary: str, reference: str, *paragraphs: str) -> dict[str, Any]:
    """How a figure is computed, folded: `paragraphs` of explanation, then `reference`
    (where docs/metrics.md defines it). The section's title links to `element_id`."""
    return {
        "element_id": element_id,
        "summary": _text(summary),
        "paragraphs": [_text(paragraph) for paragraph in paragraphs],
        "reference": _text(reference),
    }
