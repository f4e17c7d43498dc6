"""csplatform.db: array literals and COPY in and out, read back through Postgres."""

from datetime import date

import numpy as np
import pytest
from django.db import connection

from csplatform.db import array_literal, copy_in, copy_out, copy_out_lines

pytestmark = pytest.mark.django_db

AWKWARD = ["plain", "a,b", 'say "hi"', "back\\slash", "{braces}", "", " padded ", "NULL", "ç"]


def _read_array(literal: str, kind: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{kind}[]", [literal])
        return cursor.fetchone()[0]


def test_it_round_trips_text_with_commas_quotes_braces_and_nulls():
    values = [*AWKWARD, None]
    assert _read_array(array_literal(values), "text") == values
    assert _read_array(array_literal(np.array(values, dtype=object)), "varchar") == values


def test_it_round_trips_numbers_booleans_and_days():
    ints = np.array([0, -3, 2**62], dtype=np.int64)
    assert _read_array(array_literal(ints), "bigint") == [0, -3, 2**62]
    assert _read_array(array_literal(np.array([True, False])), "boolean") == [True, False]
    days = np.array(["2024-02-29", "1999-12-31"], dtype="datetime64[D]")
    assert _read_array(array_literal(days), "date") == [date(2024, 2, 29), date(1999, 12, 31)]
    assert _read_array(array_literal(np.array([], dtype=np.int64)), "int") == []


def test_it_writes_floats_exactly_or_in_the_format_given_keeping_nan():
    floats = np.array([0.1, 1 / 3, np.nan, -2.5])
    exact = _read_array(array_literal(floats), "float8")
    assert [exact[0], exact[1], exact[3]] == [0.1, 1 / 3, -2.5]
    assert np.isnan(exact[2])
    assert array_literal(floats, float_format="%.4f") == "{0.1000,0.3333,nan,-2.5000}"
    rounded = _read_array(array_literal(floats, float_format="%.4f"), "float8")
    assert rounded[1] == 0.3333
    assert np.isnan(rounded[2])


def _temp_table(cursor) -> None:
    cursor.execute("CREATE TEMP TABLE db_copy (id int, label text, note text)")


def test_it_copies_rows_of_python_values_in_with_nulls_and_separators():
    rows = [(i, label, None if i % 2 else "tab\there\nnewline") for i, label in enumerate(AWKWARD)]
    with connection.cursor() as cursor:
        _temp_table(cursor)
        copy_in(cursor, "db_copy", ["id", "label", "note"], rows)
        cursor.execute("SELECT id, label, note FROM db_copy ORDER BY id")
        assert cursor.fetchall() == rows


def test_it_copies_csv_text_in_with_empty_cells_null_unless_forced_not_null():
    csv = '1,"a,b",\n2,,"say ""hi"""\n'
    with connection.cursor() as cursor:
        _temp_table(cursor)
        copy_in(cursor, "db_copy", ["id", "label", "note"], csv, csv=True)
        copy_in(cursor, "db_copy", ["id", "label", "note"], csv, csv=True, force_not_null=["note"])
        cursor.execute("SELECT id, label, note FROM db_copy ORDER BY id, note NULLS FIRST")
        assert cursor.fetchall() == [
            (1, "a,b", None),
            (1, "a,b", ""),
            (2, None, 'say "hi"'),
            (2, None, 'say "hi"'),
        ]


def test_it_copies_tab_separated_text_in_on_the_drivers_own_cursor():
    with connection.cursor() as cursor:
        _temp_table(cursor)
        copy_in(cursor.cursor, "db_copy", ["id", "label", "note"], "7\tseven\t\\N\n")
        cursor.execute("SELECT id, label, note FROM db_copy")
        assert cursor.fetchall() == [(7, "seven", None)]


def test_it_streams_a_query_out_as_csv_with_a_header_and_counts_the_rows():
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        _temp_table(cursor)
        copy_in(cursor, "db_copy", ["id", "label", "note"], [(1, "a,b", None), (2, "ç", "x")])
    query = "SELECT id, label, note FROM db_copy WHERE id >= %s ORDER BY id"
    count = copy_out(query, [1], chunks.append)
    assert count == 2
    assert b"".join(chunks).decode() == 'id,label,note\n1,"a,b",\n2,ç,x\n'


def test_it_streams_one_text_column_as_lines_with_no_byte_escaped_or_quoted():
    chunks: list[bytes] = []
    query = "SELECT to_json(t)::text FROM (VALUES (%s, 1), (%s, NULL)) AS t (a, b)"
    count = copy_out_lines(query, ['back\\slash "q", comma', "new\nline\t\x01"], chunks.append)
    assert count == 2
    assert b"".join(chunks).decode() == (
        '{"a":"back\\\\slash \\"q\\", comma","b":1}\n{"a":"new\\nline\\t\\u0001","b":null}\n'
    )


def test_it_quotes_every_value_when_asked_so_an_empty_field_is_null():
    chunks: list[bytes] = []
    count = copy_out(
        "SELECT 1 AS n, '' AS e, NULL AS z, 'a\"b' AS q", None, chunks.append, quote_all=True
    )
    assert count == 1
    assert b"".join(chunks).decode() == 'n,e,z,q\n"1","",,"a""b"\n'
