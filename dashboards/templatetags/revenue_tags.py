"""The revenue page's numbers for the active locale (money through csplatform.money)."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils import formats

from csplatform.templatetags.money import money, money_change

register = template.Library()

# Money has one formatter (csplatform.money); these filters are its names here too.
register.filter("money", money)
register.filter("money_change", money_change)


@register.filter
def signed_percent(fraction: float | None, digits: int = 1) -> str:
    """A relative change (0.052) as "+5.2 %"; "—" for None."""
    if fraction is None:
        return "—"
    text = floatformat(abs(fraction) * 100, digits)
    sign = "−" if fraction < 0 else "+" if fraction > 0 else ""
    return f"{sign}{text} %"


@register.filter
def significant(value: float | None, digits: int = 3) -> str:
    """A model parameter to `digits` significant digits (0.000123, 3.81, 1.63e+05), with
    the locale's decimal separator; "—" for None."""
    if value is None:
        return "—"
    return f"{value:.{digits}g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))
