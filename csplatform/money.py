"""Money as people read it: the one formatter of amounts for pages, charts, emails and
CSV exports (the API gives cents and a currency code instead).

An amount is integer cents and an ISO 4217 currency (DESIGN.md); it is shown with the
currency's symbol and two decimals, in the reader's language: "R$ 105.245,00" in pt-BR,
"R$105,245.00" in English. Templates use the `money` and `money_change` filters
(`{% load money %}`, or dashboards' revenue_tags, which call this module).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation
from django.utils.formats import number_format

# The symbols people expect; other currencies show their ISO code.
SYMBOLS = {"BRL": "R$", "EUR": "€", "GBP": "£", "JPY": "¥"}
NBSP = "\u00a0"
MINUS = "−"


def _portuguese(language: str | None) -> bool:
    return (language or translation.get_language() or "en").lower().startswith("pt")


def currency_symbol(currency: str, language: str | None = None) -> str:
    """ "R$" for BRL; the dollar as "US$" to Brazilians (R$ is their $), "$" elsewhere;
    the ISO code for a currency without a well-known symbol."""
    if currency == "USD":
        return "US$" if _portuguese(language) else "$"
    return SYMBOLS.get(currency, currency)


def money_format(cents: float | None, currency: str, *, signed: bool = False) -> str:
    """`cents` of `currency` in the active language: "R$ 1.234,56" (pt-BR, a no-break
    space after the symbol), "R$1,234.56" (English: a symbol sticks to the number, a
    code takes a space); "−R$ 80,00" below zero; "+R$ 120,00" for a positive change
    when `signed`; "—" for None."""
    if cents is None or cents != cents:  # None, or NaN: no value
        return "—"
    # Rounded to whole cents first (half away from zero, as money is), so a float
    # such as an ARPA of 199999.9 cents reads R$2,000.00, and no amount reads −R$0.00.
    whole = Decimal(str(cents)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    symbol = currency_symbol(currency)
    number = number_format(abs(whole) / 100, 2, use_l10n=True, force_grouping=True)
    separated = _portuguese(None) or symbol.isalpha()
    amount = f"{symbol}{NBSP if separated else ''}{number}"
    if whole < 0:
        return f"{MINUS}{amount}"
    return f"+{amount}" if signed and whole > 0 else amount
