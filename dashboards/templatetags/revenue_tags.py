"""Money in the organization's currency, formatted for the active locale."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils import formats, translation

register = template.Library()

# The symbols people expect; other currencies show their ISO code.
SYMBOLS = {"BRL": "R$", "EUR": "€", "GBP": "£", "JPY": "¥"}
NBSP = "\u00a0"


def _symbol(currency: str, language: str) -> str:
    if currency == "USD":
        # Brazilians write US$ (R$ is their $); elsewhere $ is the dollar.
        return "US$" if language.startswith("pt") else "$"
    return SYMBOLS.get(currency, currency)


def format_money(cents: float | None, currency: str, *, signed: bool = False) -> str:
    """An amount in cents as "$1,234.56" (en) or "R$ 1.234,56" (pt-BR); "—" for None.
    `signed` puts a + before a positive amount (a change)."""
    if cents is None:
        return "—"
    language = translation.get_language() or "en"
    symbol = _symbol(currency, language)
    number = floatformat(abs(cents) / 100, "2g")
    # A bare symbol sticks to the number in English; a code, or Portuguese, takes a space.
    separated = language.startswith("pt") or symbol.isalpha()
    amount = f"{symbol}{NBSP if separated else ''}{number}"
    if cents < 0:
        return f"−{amount}"
    return f"+{amount}" if signed and cents > 0 else amount


@register.filter
def money(cents: float | None, currency: str) -> str:
    """{{ month.mrr|money:organization.currency }}"""
    return format_money(cents, currency)


@register.filter
def money_change(cents: float | None, currency: str) -> str:
    """A change in money, with its sign: "+R$ 120,00", "−R$ 80,00"."""
    return format_money(cents, currency, signed=True)


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
