"""Cells that a spreadsheet shows as text: the one rule for every CSV a person opens.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@`
(and a tab or carriage return before one) as a formula: `=HYPERLINK(…)` sends the sheet
to another site, `+cmd|…` runs a program. A customer's name or a survey comment is
written by people outside the organization, so every text cell of a CSV export goes
through `spreadsheet_cell` (OWASP, "CSV injection").
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula: the text,
    with a leading apostrophe when it would start a formula; None is empty."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in FORMULA_STARTS else text
