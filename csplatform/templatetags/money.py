"""{{ cents|money:currency }} and {{ change_cents|money_change:currency }}: money in the
reader's language, through csplatform.money (the one formatter)."""

from __future__ import annotations

from django import template

from csplatform.money import money_format

register = template.Library()


@register.filter
def money(cents: float | None, currency: str) -> str:
    """{{ account.mrr_cents|money:organization.currency }} → "R$ 1.234,56"."""
    return money_format(cents, currency)


@register.filter
def money_change(cents: float | None, currency: str) -> str:
    """A change in money, with its sign: "+R$ 120,00", "−R$ 80,00"."""
    return money_format(cents, currency, signed=True)
