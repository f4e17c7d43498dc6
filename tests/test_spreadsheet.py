"""The spreadsheet-safe cell: one rule, in Python (spreadsheet_cell) and in SQL
(spreadsheet_cell_sql, for exports that stream COPY's bytes), and the two agree."""

import pytest
from django.db import connection

from csplatform.spreadsheet import FORMULA_STARTS, spreadsheet_cell, spreadsheet_cell_sql

pytestmark = pytest.mark.django_db

TRICKY = [
    "",
    "plain",
    "=1+1",
    '=HYPERLINK("http://evil.example","x")',
    "+1",
    "-1",
    "-",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    " =1",
    "  -1",
    "'=1",
    "\u00a0=1",
    "\uff1d1",  # a full-width equals sign: not a formula start
    "ção",
    "=ção",
    "😀=",
    "1-1",
    "a\nb",
    '"quoted"',
    "back\\slash",
    "\\=",
    "%",
    "_",
]


def test_it_gives_the_same_cell_in_sql_as_in_python_for_tricky_values():
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v, {spreadsheet_cell_sql('v')} FROM unnest(%s::text[]) AS v",  # noqa: S608 # nosec B608
            [TRICKY],
        )
        rows = cursor.fetchall()
    assert [value for value, _cell in rows] == TRICKY
    assert [cell for _value, cell in rows] == [spreadsheet_cell(v) for v in TRICKY]
    assert {cell[:1] for _value, cell in rows} & set(FORMULA_STARTS) == set()


def test_it_leaves_null_null_in_sql_and_empty_in_python():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {spreadsheet_cell_sql('NULL::text')}")  # nosec B608
        assert cursor.fetchone() == (None,)
    assert spreadsheet_cell(None) == ""


@pytest.mark.parametrize("column_type", ["varchar(20)", "text", "jsonb", "json", "text[]"])
def test_it_applies_the_sql_rule_to_any_column_through_its_text(column_type):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {spreadsheet_cell_sql('v::text')} FROM (VALUES (%s::{column_type})) AS t (v)",  # noqa: S608 # nosec B608
            ["{-1}" if column_type.endswith("[]") else '"=x"' if "json" in column_type else "-1"],
        )
        (cell,) = cursor.fetchone()
    expected = {"jsonb": '"=x"', "json": '"=x"', "text[]": "{-1}"}.get(column_type, "'-1")
    assert cell == expected
