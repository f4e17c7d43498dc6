"""Formatting the executive dashboard's numbers for the active language: money through
csplatform.money, rates as percentages, changes with their sign."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext

from csplatform.money import money_format

register = template.Library()

NONE = "—"


def _number(value: float, digits: int) -> str:
    return number_format(round(value, digits), digits, use_l10n=True, force_grouping=True)


def _sign(value: float) -> str:
    return "+" if value > 0 else "−" if value < 0 else "±"


def _dash(why: str) -> str:
    """A dash that says why: the reason as its title and for screen readers."""
    if not why:
        return NONE
    return format_html('<span title="{0}">—<span class="visually-hidden"> {0}</span></span>', why)


@register.simple_tag
def figure(value: float | None, unit: str, currency: str = "", why: str = "") -> str:
    """A figure: "R$ 12.345,00" (cents in), "5.0 %" (a fraction in), "32" (NPS points);
    for None a dash, with `why` it has no value when given."""
    if value is None:
        return _dash(why)
    if unit == "money":
        return money_format(value, currency)
    if unit == "percent":
        return f"{_number(value * 100, 1)} %"
    return _number(value, 0)


@register.simple_tag
def figure_change(value: float | None, unit: str, currency: str = "", why: str = "") -> str:
    """A change, signed: "+R$ 1.234,00", "−1.5 pts" (percentage points of a rate),
    "+9.0 points" (of the NPS)."""
    if value is None:
        return _dash(why)
    sign = _sign(value)
    if unit == "money":
        return money_format(value, currency, signed=True)
    if unit == "percent":
        return gettext("%(change)s pts") % {"change": f"{sign}{_number(abs(value) * 100, 1)}"}
    return gettext("%(change)s points") % {"change": f"{sign}{_number(abs(value), 1)}"}


@register.simple_tag
def relative_change(figure: Any) -> str:
    """The "Change (%)" cell: a money figure's change in percent of the previous value;
    for a rate or the NPS a dash that says why (they change in points), with the reason
    as its title and for screen readers."""
    if figure.spec.unit != "money":
        return _dash(gettext("a rate or the NPS changes in points, not in percent"))
    if figure.relative_change is None:
        return _dash(gettext("no previous value to compare with"))
    return signed_percent(figure.relative_change)


@register.filter
def signed_percent(fraction: float | None) -> str:
    """A relative change (0.048) as "+4.8 %"; "—" for None."""
    if fraction is None:
        return NONE
    return f"{_sign(fraction)}{_number(abs(fraction) * 100, 1)} %"


@register.filter
def percent_share(fraction: float | None) -> str:
    """A share (0.25) as "25 %"; "—" for None."""
    return NONE if fraction is None else f"{_number(fraction * 100, 0)} %"


def _percent_plain(fraction: float) -> str:
    points = fraction * 100
    return _number(points, 0 if abs(points - round(points)) < 1e-9 else 1)


@register.simple_tag
def benchmark_range(low: float | None, high: float | None) -> str:
    """A benchmark as "≈ 5 %" (one value) or "100–110 %" (a range); "—" for none."""
    if low is None and high is None:
        return NONE
    low = high if low is None else low
    high = low if high is None else high
    assert low is not None  # nosec B101 # type narrowing
    assert high is not None  # nosec B101 # type narrowing
    if abs(high - low) < 1e-9:
        return f"≈ {_percent_plain(low)} %"
    return f"{_percent_plain(low)}–{_percent_plain(high)} %"


@register.filter
def signed_count(value: int | None) -> str:
    """A change in a count: "+3", "−2", "±0"; "—" for None."""
    if value is None:
        return NONE
    return f"{_sign(value)}{_number(abs(value), 0)}"


@register.filter
def charts_of(charts: dict[str, list[str]] | None, section: str) -> list[str]:
    """The small charts of a section of the page (dashboards.charts.executive)."""
    return (charts or {}).get(section, [])
