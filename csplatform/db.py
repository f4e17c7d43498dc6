"""Postgres helpers shared by every app: array literals for whole-column parameters, and
COPY in and out.

Bulk writes here are set-based (DESIGN.md, Data flow): a column of values travels as
one array literal cast in the SQL (`%(ids)s::bigint[]` with `unnest`), or a table of
rows travels by COPY. Postgres refuses COPY into a table under row-level security, so
a COPY into a tenant-owned table goes to a temporary table first and then across with
an INSERT that the policy checks (journeys.ingest, the demo generator).
"""

from __future__ import annotations

from collections.abc import Buffer, Callable, Iterable, Sequence
from typing import Any

import numpy as np
import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from psycopg import sql

type Cursor = CursorWrapper | psycopg.Cursor[Any]


def _quoted(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def array_literal(values: np.ndarray | Sequence[Any], *, float_format: str | None = None) -> str:
    """A Postgres array literal (`{1,2,3}`) of `values`, for a parameter cast in the SQL:
    far cheaper to build than to have the driver adapt a list element by element.

    Integers as they are; booleans as t/f; days (datetime64, whole days); floats in
    `float_format` (NumPy's %-formatting, whole array at once; default the shortest
    form that reads back the same), NaN staying NaN; anything else as quoted text, so a
    comma, quote, backslash or brace survives and None is NULL."""
    array = np.asarray(values)
    kind = array.dtype.kind
    items: Iterable[str]
    if kind in "iu":
        items = map(str, array.tolist())
    elif kind == "b":
        items = np.where(array, "t", "f").tolist()
    elif kind == "M":
        items = np.datetime_as_string(array.astype("datetime64[D]")).tolist()
    elif kind == "f" and float_format:
        items = np.char.mod(float_format, array).tolist()
    elif kind == "f":
        items = map(repr, array.tolist())
    else:
        items = map(_quoted, array.tolist())
    return "{" + ",".join(items) + "}"


def _psycopg(cursor: Cursor) -> psycopg.Cursor[Any]:
    """The driver's cursor: Django's wrapper holds it as `.cursor`."""
    return cursor.cursor if isinstance(cursor, CursorWrapper) else cursor


def copy_in(
    cursor: Cursor,
    table: str,
    columns: Sequence[str],
    data: str | Iterable[Sequence[Any]],
    *,
    csv: bool = False,
    force_not_null: Sequence[str] = (),
) -> None:
    """COPY `data` into `table` (`columns`, in that order), on Django's cursor or the
    driver's own. `data` is either text already in COPY's format (CSV when `csv`, else
    tab-separated with `\\N` for NULL) or rows of Python values that the driver adapts
    (None is NULL). With CSV, an empty cell is NULL except in the `force_not_null`
    columns, where it is the empty string. Not into a table under row-level security:
    Postgres refuses it (see the module's docstring)."""
    options: list[sql.Composable] = []
    if csv:
        options.append(sql.SQL("FORMAT csv"))
    if force_not_null:
        options.append(
            sql.SQL("FORCE_NOT_NULL ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, force_not_null))
            )
        )
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" WITH ({})").format(sql.SQL(", ").join(options)) if options else sql.SQL(""),
    )
    with _psycopg(cursor).copy(statement) as copy:
        if isinstance(data, str):
            copy.write(data)
        else:
            for row in data:
                copy.write_row(row)


def copy_out(
    query: str, params: Any, write: Callable[[Buffer], object], *, quote_all: bool = False
) -> int:
    """Stream the rows of `query` (with `params`, as Django's `sql_with_params` gives
    them) as UTF-8 CSV with a header line, chunk by chunk through `write`, never all in
    memory; returns the rows written (COPY's own count). With `quote_all`, every
    non-NULL value is quoted, so an empty field is NULL and `""` an empty text. The
    current tenant's row-level security applies as to any query."""
    options = "FORMAT csv, HEADER true, ENCODING 'UTF8'"
    if quote_all:
        options += ", FORCE_QUOTE *"
    return _copy_out(f"COPY ({query}) TO STDOUT WITH ({options})", params, write)


def copy_out_lines(query: str, params: Any, write: Callable[[Buffer], object]) -> int:
    """Stream the one text column of `query` as lines, each value exactly as it is and a
    newline, chunk by chunk through `write`; returns the lines written. For values that
    hold no control character (JSON from to_json: Postgres escapes every character
    below a space), so no byte of them is escaped or quoted: COPY's CSV format with a
    delimiter and a quote (\\x01, \\x02) that such a value never holds (its text format
    would double every backslash)."""
    statement = (
        f"COPY ({query}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8', "
        "DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    return _copy_out(statement, params, write)


# COPY hands out one row at a time: `write` gets blocks of about this many bytes, so a
# destination that costs per call (a ZIP entry: a checksum and a compressor call) pays
# per block, not per row.
COPY_OUT_BLOCK = 1 << 20


def _copy_out(statement: str, params: Any, write: Callable[[Buffer], object]) -> int:
    block = bytearray()
    with connection.cursor() as cursor:
        with _psycopg(cursor).copy(statement, params) as copy:
            for chunk in copy:
                block += chunk
                if len(block) >= COPY_OUT_BLOCK:
                    write(block)
                    block = bytearray()
        if block:
            write(block)
        return int(_psycopg(cursor).rowcount)
