"""Cells that a spreadsheet shows as text: the one rule for every CSV a person opens.

Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@`
(and a tab or carriage return before one) as a formula: `=HYPERLINK(…)` sends the sheet
to another site, `+cmd|…` runs a program. A customer's name or a survey comment is
written by people outside the organization, so every text cell of a CSV export goes
through `spreadsheet_cell` (OWASP, "CSV injection").

A CSV a person opens is also written for the reader's language: `;` between fields and
a decimal comma in pt-BR, as Brazilian Excel expects (`spreadsheet_separators`). The
organization's export ZIP is a data dump for machines, and stays `,` and `.`.
"""

from __future__ import annotations

from django.utils import translation

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula: the text,
    with a leading apostrophe when it would start a formula; None is empty."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in FORMULA_STARTS else text


def spreadsheet_cell_sql(expression: str) -> str:
    """`spreadsheet_cell` as a Postgres expression over a text `expression` (a column
    cast ::text), for an export that streams COPY's bytes instead of touching each cell
    in Python: the text, with a leading apostrophe when its first character is one of
    FORMULA_STARTS; NULL stays NULL (an empty CSV field). `expression` is SQL, never a
    user's input."""
    starts = ", ".join(f"chr({ord(start)})" for start in FORMULA_STARTS)
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


def spreadsheet_separators(language: str | None = None) -> tuple[str, str]:
    """(field delimiter, decimal separator) of a CSV for a person reading `language`
    (the active one by default): Brazilian Excel splits columns on ";" and reads "1,5"
    as a number, as it expects in pt-BR; English spreadsheets read "," and "1.5"."""
    language = (language or translation.get_language() or "en").lower()
    return (";", ",") if language.startswith("pt") else (",", ".")


def spreadsheet_number(value: float | None, digits: int, language: str | None = None) -> str:
    """A number cell with `digits` decimals and the language's decimal separator, without
    thousands grouping (a spreadsheet would read "1.234,5" as text in some setups);
    None is empty."""
    if value is None:
        return ""
    return f"{value:.{digits}f}".replace(".", spreadsheet_separators(language)[1])
