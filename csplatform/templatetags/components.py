"""The project's shared template components, as inclusion tags: a page says what it
shows (`{% form_fields form %}`), not which file holds the markup.

    {% load components %}
    {% form_fields invitation_form %}   a form's fields, with help and errors
    {% chart_scripts %}                 plotly.js and the charts' loader (block scripts)
    {% scroll_region _("Name") %}…{% endscroll_region %}   a wide table's own scroll box
"""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.utils.html import format_html

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


class ScrollRegionNode(template.Node):
    def __init__(self, nodelist: template.NodeList, label: Any, classes: Any) -> None:
        self.nodelist = nodelist
        self.label = label
        self.classes = classes

    def render(self, context: template.Context) -> str:
        classes = self.classes.resolve(context) if self.classes is not None else ""
        return format_html(
            '<div class="table-wrap scroll-region{}" tabindex="0" role="region" '
            'aria-label="{}">{}</div>',
            f" {classes}" if classes else "",
            self.label.resolve(context),
            self.nodelist.render(context),  # already safe: the template rendered it
        )


@register.tag("scroll_region")
def scroll_region(parser: Any, token: Any) -> ScrollRegionNode:
    """A table wider than a phone, in a box that scrolls sideways by itself (its first
    column stays in view, static/css/app.css) rather than the whole page; the box is a
    named region a keyboard can focus and scroll (axe's scrollable-region-focusable).

        {% scroll_region _("MRR by month") "table-scroll" %}<table>…</table>{% endscroll_region %}

    The optional second argument adds classes to the box (table-scroll: a long table
    that also scrolls down inside its card).
    """
    bits = token.split_contents()
    if len(bits) not in {2, 3}:
        raise template.TemplateSyntaxError(
            f"{bits[0]} takes the region's name and, optionally, more classes"
        )
    nodelist = parser.parse(("endscroll_region",))
    parser.delete_first_token()
    classes = parser.compile_filter(bits[2]) if len(bits) == 3 else None
    return ScrollRegionNode(nodelist, parser.compile_filter(bits[1]), classes)
