"""CSV import: reading any reasonable file, parsing whole columns, reporting every bad cell.

Files from Brazilian Excel just work: `;` separators, decimal commas
(1.234,56), UTF-8 with or without BOM or Windows-1252/Latin-1, dd/mm/yyyy
dates. Each kind of file (accounts, events…) is an `ImportKind` registered by
its app; this module knows no app. A file with any bad row writes nothing:
every problem is reported with its line (the header is line 1), its column
and what was expected: as a Phrase (csplatform.texts), rendered in the reader's
language when it is read, so a stored report reads in whoever's language.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from csplatform import bounds
from csplatform.batches import RowsRejected, WriteResult
from csplatform.texts import Phrase

MAX_FILE_BYTES = 200 * 1024 * 1024
# A cell longer than this is refused before any parser reads it: no column holds more
# (a survey comment is at most 5,000 characters), so nothing runs on megabytes of one cell.
MAX_CELL_CHARS = 10_000
# A refused value is quoted in its error up to this many characters.
SHOWN_VALUE_CHARS = 60


@dataclass(frozen=True)
class CellError:
    line: int
    column: str
    message: Phrase | str  # a service's error may be text (one the API made)

    def __str__(self) -> str:
        return _("line %(line)s, column %(column)s: %(message)s") % {
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


class ImportRejected(Exception):  # noqa: N818 (a verdict on the file)
    def __init__(self, errors: list[CellError], warnings: list[Phrase | str] | None = None) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was imported")
        self.errors = sorted(errors, key=lambda e: (e.line, e.column))
        self.warnings = warnings or []


# A column parser takes the raw strings (already stripped, "" for empty) and the
# import context, and returns (typed values, mask of invalid cells, what was expected).
Parser = Callable[[pd.Series, dict[str, Any]], tuple[pd.Series, pd.Series, Phrase]]


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = True


@dataclass(frozen=True)
class ImportKind:
    name: str
    label: Phrase  # the kind's name, e.g. "accounts", in the reader's language
    columns: list[Column]
    # Writes the typed frame (and the extra columns' frame) inside the transaction; with
    # its third argument (dry_run) True, validates and counts what it would write but
    # writes nothing: no INSERT, which would move the tables' id sequences for good.
    write: Callable[[pd.DataFrame, pd.DataFrame, bool], WriteResult]
    # Service field names that differ from the CSV column they came from.
    field_to_column: dict[str, str] = field(default_factory=dict)
    extra_columns_kept: bool = False  # True: extra columns are stored (custom attributes)
    # A file of a shape of its own (e.g. the ECB's exchange rates, one column per
    # currency): reads the bytes itself and returns the typed frame, indexed by line − 2,
    # and every bad cell, instead of read_frame and parse_frame over `columns` (then
    # only listed on the import page).
    read: Callable[[bytes, dict[str, Any]], tuple[pd.DataFrame, list[CellError]]] | None = None


REGISTRY: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    REGISTRY[kind.name] = kind


@dataclass
class ImportReport:
    kind: str
    rows: int
    result: WriteResult
    warnings: list[Phrase | str]
    preview: list[dict[str, Any]]
    dry_run: bool


# --- reading --------------------------------------------------------------------


class MixedEncoding(ValueError):  # noqa: N818 (a verdict on the file)
    """Some lines of the file are UTF-8 and others Latin-1: no one reading is right."""

    def __init__(self, utf8_line: int, latin1_line: int) -> None:
        super().__init__(f"line {utf8_line} is UTF-8, line {latin1_line} is Latin-1")
        self.utf8_line = utf8_line
        self.latin1_line = latin1_line


def decode(data: bytes, *, strict: bool = True) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else
    Windows-1252 (Excel's Latin-1), else Latin-1.

    A file whose lines mix UTF-8 and Latin-1 (one pasted into the other) raises
    MixedEncoding naming a line of each; with `strict=False` each line is read in its
    own encoding instead (to search a stored file, never to import it)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not strict:
        return "\n".join(_decode_single(line) for line in data.split(b"\n"))
    _refuse_mixed_encodings(data)
    return _decode_single(data, utf8=False)


def _decode_single(data: bytes, *, utf8: bool = True) -> str:
    if utf8:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _refuse_mixed_encodings(data: bytes) -> None:
    """Raise MixedEncoding if a line (1-based) with non-ASCII characters is valid UTF-8
    while another is not. Latin-1 text is practically never valid UTF-8: an accented
    letter is one byte there, and UTF-8 wants it followed by continuation bytes."""
    utf8_line = latin1_line = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            latin1_line = latin1_line or number
        else:
            utf8_line = utf8_line or number
        if utf8_line and latin1_line:
            raise MixedEncoding(utf8_line, latin1_line)


def sniff_delimiter(text: str) -> str:
    """The separator used in the header line: `;` (Brazilian Excel), `,` or a tab."""
    header = text.split("\n", 1)[0]
    return max([";", ",", "\t"], key=header.count)


def read_frame(data: bytes) -> pd.DataFrame:
    """Every cell as a stripped string ('' when empty); lower-case, trimmed column names."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportRejected(
            [
                CellError(
                    0,
                    "-",
                    Phrase(
                        gettext_noop(
                            "The file is larger than %(mb)s MB: split it into smaller files."
                        ),
                        {"mb": MAX_FILE_BYTES // (1024 * 1024)},
                    ),
                )
            ]
        )
    try:
        text = decode(data)
    except MixedEncoding as mixed:
        raise ImportRejected(
            [
                CellError(
                    max(mixed.utf8_line, mixed.latin1_line),
                    "-",
                    Phrase(
                        gettext_noop(
                            "The file mixes encodings: line %(utf8)s is UTF-8 and line "
                            "%(latin1)s Latin-1 (Windows-1252). Save it again in one "
                            "encoding, UTF-8 if you can."
                        ),
                        {"utf8": mixed.utf8_line, "latin1": mixed.latin1_line},
                    ),
                )
            ]
        ) from mixed
    if not text.strip():
        raise ImportRejected([CellError(1, "-", Phrase(gettext_noop("The file is empty.")))])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sniff_delimiter(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            engine="c",
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise ImportRejected(
            [
                CellError(
                    0,
                    "-",
                    Phrase(
                        gettext_noop("This is not a readable CSV file: %(error)s"),
                        {"error": str(exc)},
                    ),
                )
            ]
        ) from exc
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=sniff_delimiter(text)))
    names = [c.strip().lower().lstrip("\ufeff") for c in header]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise ImportRejected(
            [
                CellError(
                    1, n, Phrase(gettext_noop("This column appears more than once in the header."))
                )
                for n in repeated
            ]
        )
    if "" in names:
        raise ImportRejected(
            [
                CellError(
                    1,
                    str(names.index("") + 1),
                    Phrase(
                        gettext_noop(
                            "A column has no name in the header (is there a separator at the end?)."
                        )
                    ),
                )
            ]
        )
    frame.columns = names
    return frame.apply(lambda column: column.str.strip())


def shown_value(value: str) -> str:
    """A refused cell as its error quotes it: cut to SHOWN_VALUE_CHARS characters."""
    if len(value) <= SHOWN_VALUE_CHARS:
        return value
    return value[: SHOWN_VALUE_CHARS - 1] + "…"


# --- column parsers ------------------------------------------------------------------


def text(max_length: int = 255) -> Parser:
    def parse(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
        expected = Phrase(gettext_noop("at most %(n)s characters"), {"n": max_length})
        return raw, raw.str.len() > max_length, expected

    return parse


# Patterns with one way only to match each character (tests/regex_ambiguity.py): the
# domain's labels hold no dot, so `[^@\s]+\.` cannot split a label at every dot, and a
# number's first digit is the first digit. Python's backtracking then stays linear.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")
_NUMBER = re.compile(r"[-+]?[.,]*\d[\d.,]*")  # no 1e-3


def email(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    values = raw.str.lower()
    invalid = (values != "") & (~values.str.match(_EMAIL) | (values.str.len() > 254))
    return values, invalid, Phrase(gettext_noop("an email address such as ana@empresa.com.br"))


def choice(options: dict[str, str]) -> Parser:
    """Accepts the canonical values and the listed aliases (e.g. Portuguese names), any case."""

    def parse(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
        values = raw.str.lower().map(lambda v: options.get(v, v) if v else "")
        canonical = sorted(set(options.values()))
        invalid = (values != "") & ~values.isin(canonical)
        expected = Phrase(gettext_noop("one of %(values)s"), {"values": ", ".join(canonical)})
        return values, invalid, expected

    return parse


def _numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Decimal strings in Brazilian (1.234,56) or English (1,234.56) style → '1234.56' form.

    With both separators, the last one is the decimal point. With only one
    kind: a single comma is a decimal comma (1234,5), several are thousands
    (1,234,567); likewise a single dot is a decimal point, several are thousands.
    """
    s = raw.str.replace(r"[\sR$€£\u00a0]", "", regex=True)
    s = s.where(s.str.fullmatch(_NUMBER) | (s == ""), "invalid")
    commas, dots = s.str.count(","), s.str.count(r"\.")
    last_comma, last_dot = s.str.rfind(","), s.str.rfind(".")
    brazilian = (commas > 0) & ((dots == 0) & (commas == 1) | (dots > 0) & (last_comma > last_dot))
    english_thousands = (commas > 0) & ~brazilian
    dots_as_thousands = (dots > 1) & (commas == 0)
    normalized = s.where(~brazilian, s.str.replace(".", "", regex=False).str.replace(",", "."))
    normalized = normalized.where(~english_thousands, normalized.str.replace(",", "", regex=False))
    normalized = normalized.where(~dots_as_thousands, normalized.str.replace(".", "", regex=False))
    numbers = pd.to_numeric(normalized.where(normalized != "", None), errors="coerce")
    return normalized, numbers


def decimal_number(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    normalized, numbers = _numbers(raw)
    invalid = (raw != "") & (numbers.isna() | (numbers.abs() >= 1e14))
    values = normalized.where(raw != "", None)
    return values, invalid, Phrase(gettext_noop("a number such as 12,5 or 1.234,56"))


def money_cents(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    """An amount in currency units (1.234,56) as integer cents (123456); at most 2 decimals."""
    normalized, numbers = _numbers(raw)
    decimals = normalized.str.extract(r"\.(\d*)$", expand=False).fillna("").str.len()
    invalid = (raw != "") & (numbers.isna() | (decimals > 2) | (numbers.abs() >= 1e12))
    cents = (numbers.fillna(0) * 100).round().astype("int64")
    return cents, invalid, Phrase(gettext_noop("an amount such as 1.234,56 (at most two decimals)"))


def date_value(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    """A day, ISO or dd/mm/yyyy. Its range (csplatform.bounds) is the services' to check,
    naming the line too: only they know a row as recorded, which a re-import may send
    again as it is even from before the bounds."""
    earliest, latest = bounds.day_range()
    iso = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    brazilian = pd.to_datetime(raw, format="%d/%m/%Y", errors="coerce")
    dates = iso.fillna(brazilian)
    invalid = (raw != "") & dates.isna()
    values = dates.dt.date.astype(object).where(dates.notna(), None)
    return (
        values,
        invalid,
        Phrase(
            gettext_noop(
                "a date from %(earliest)s to %(latest)s, such as 31/12/2025 or 2025-12-31"
            ),
            {"earliest": earliest.isoformat(), "latest": latest.isoformat()},
        ),
    )


def datetime_value(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    """ISO 8601 (with or without a zone) or dd/mm/yyyy hh:mm[:ss]; no zone means the
    organization's time zone. From the accepted range's first day (csplatform.bounds),
    midnight UTC; the services refuse the future (with clock skew) themselves, saying so."""
    time_zone = context["time_zone"]
    has_zone = raw.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    zoned = pd.to_datetime(raw.where(has_zone, None), format="ISO8601", errors="coerce", utc=True)
    local = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    for fmt in ("ISO8601", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        missing = local.isna() & ~has_zone & (raw != "")
        if not missing.any():
            break
        local = local.fillna(pd.to_datetime(raw.where(missing, None), format=fmt, errors="coerce"))
    local_utc = local.dt.tz_localize(time_zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
        "UTC"
    )
    instants = zoned.fillna(local_utc)
    instants = instants.where(~(instants < pd.Timestamp(bounds.EARLIEST_INSTANT)))
    invalid = (raw != "") & instants.isna()
    return (
        instants,
        invalid,
        Phrase(
            gettext_noop(
                "a date and time from %(earliest)s on, such as 31/12/2025 14:30 or "
                "2025-12-31T14:30:00-03:00"
            ),
            {"earliest": bounds.EARLIEST_DAY.isoformat()},
        ),
    )


# --- the import itself ---------------------------------------------------------------


def parse_frame(
    kind: ImportKind, frame: pd.DataFrame, context: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, list[CellError], list[Phrase | str]]:
    """Typed columns, the extra columns, every bad cell, and warnings."""
    errors: list[CellError] = []
    warnings: list[Phrase | str] = []
    known = {c.name for c in kind.columns}
    missing = [c.name for c in kind.columns if c.required and c.name not in frame.columns]
    if missing:
        raise ImportRejected(
            [
                CellError(
                    1,
                    name,
                    Phrase(
                        gettext_noop(
                            "The header has no %(column)s column; the file needs: %(required)s."
                        ),
                        {
                            "column": name,
                            "required": ", ".join(c.name for c in kind.columns if c.required),
                        },
                    ),
                )
                for name in missing
            ]
        )
    extra = [c for c in frame.columns if c not in known]
    if extra and not kind.extra_columns_kept:
        warnings.append(
            Phrase(
                gettext_noop(
                    "These columns are not used by a %(kind)s import and were ignored: %(columns)s."
                ),
                {"kind": kind.label, "columns": ", ".join(extra)},
            )
        )
    lines = pd.Series(range(2, len(frame) + 2), index=frame.index)
    # Over-long cells first: refused by their length alone, then emptied, so no parser
    # (and no pattern) ever reads them and they raise no second error.
    lengths = frame.apply(lambda column: column.str.len())
    overlong = lengths > MAX_CELL_CHARS
    for name in frame.columns:
        for line, length in zip(lines[overlong[name]], lengths[name][overlong[name]], strict=True):
            errors.append(
                CellError(
                    line,
                    name,
                    Phrase(
                        gettext_noop(
                            "This cell has %(length)s characters; a cell holds at most %(max)s."
                        ),
                        {"length": length, "max": MAX_CELL_CHARS},
                    ),
                )
            )
    frame = frame.mask(overlong, "")
    for name in frame.columns:
        for line in lines[frame[name].str.contains("\x00", regex=False)]:
            errors.append(
                CellError(line, name, Phrase(gettext_noop("This cell contains a NUL character.")))
            )
    typed = pd.DataFrame(index=frame.index)
    for column in kind.columns:
        if column.name not in frame.columns:
            continue  # an optional column the file does not have: nothing to change
        raw = frame[column.name]
        values, invalid, expected = column.parse(raw, context)
        if column.required:
            for line in lines[(raw == "") & ~overlong[column.name]]:
                errors.append(
                    CellError(line, column.name, Phrase(gettext_noop("This value is required.")))
                )
        for line, value in zip(lines[invalid], raw[invalid], strict=True):
            errors.append(
                CellError(
                    line,
                    column.name,
                    Phrase(
                        gettext_noop("%(value)s is not valid: expected %(expected)s."),
                        {"value": shown_value(value), "expected": expected},
                    ),
                )
            )
        typed[column.name] = values
    return typed, frame[extra], errors, warnings


def import_file(
    kind_name: str,
    data: bytes,
    *,
    context: dict[str, Any],
    dry_run: bool = False,
    progress: Callable[[Phrase], None] = lambda message: None,
) -> ImportReport:
    """Import a CSV file of `kind_name` into the current organization, all or nothing.

    `dry_run` validates against the database and counts what would change without
    writing (and rolls back, should a writer write anyway). Raises ImportRejected with
    every problem. `progress` is told each step, a phrase for people.
    """
    kind = REGISTRY[kind_name]
    progress(Phrase(gettext_noop("Reading the file…")))
    if kind.read is not None:
        typed, errors = kind.read(data, context)
        if errors:
            raise ImportRejected(errors)
        frame, extra = typed, typed.iloc[:, :0]
        warnings: list[Phrase | str] = []
    else:
        frame = read_frame(data)
    progress(
        Phrase.ngettext(
            "Checking %(rows)s row…", "Checking %(rows)s rows…", len(frame), {"rows": len(frame)}
        )
    )
    if kind.read is None:
        typed, extra, errors, warnings = parse_frame(kind, frame, context)
    if errors:
        # Still check the rows that did parse against the database (unknown accounts,
        # duplicates…), so one report lists every bad row, not just the first kind of problem.
        bad_lines = {e.line for e in errors}
        sound = [line not in bad_lines for line in range(2, len(frame) + 2)]
        errors += _database_errors(kind, typed[sound], extra[sound])
        raise ImportRejected(errors, warnings)
    progress(
        Phrase(gettext_noop("Checking against your data…"))
        if dry_run
        else Phrase(gettext_noop("Writing…"))
    )
    try:
        with transaction.atomic():
            result = kind.write(typed, extra, dry_run)
            if dry_run:
                transaction.set_rollback(True)
    except RowsRejected as rejected:
        raise ImportRejected(_cell_errors(kind, rejected, typed.index), warnings) from rejected
    result.warnings = warnings + result.warnings
    preview = frame.head(20).to_dict("records")
    return ImportReport(kind_name, len(frame), result, result.warnings, preview, dry_run)


def _cell_errors(kind: ImportKind, rejected: RowsRejected, index: pd.Index) -> list[CellError]:
    """The service's errors (by position in the rows it was given) as file lines and columns."""
    column = kind.field_to_column
    return [
        CellError(int(index[e.row]) + 2, column.get(e.field, e.field), e.message)
        for e in rejected.errors
    ]


def _database_errors(kind: ImportKind, typed: pd.DataFrame, extra: pd.DataFrame) -> list[CellError]:
    """What writing these rows would refuse, found by a dry run (and rolled back)."""
    if typed.empty:
        return []
    try:
        with transaction.atomic():
            kind.write(typed, extra, True)
            transaction.set_rollback(True)
    except RowsRejected as rejected:
        return _cell_errors(kind, rejected, typed.index)
    return []


def records(typed: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts for the services. Empty cells are left out: they change nothing."""
    cleaned = typed.astype(object).where(typed.notna(), None)
    return [
        {key: value for key, value in row.items() if value is not None and value != ""}
        for row in cleaned.to_dict("records")
    ]
