"""Currencies (docs/metrics.md#currencies): the organization's exchange rates, their
import, and each subscription's rate.

A subscription is billed in its own currency; the organization reports in one
(`Organization.currency`). `ExchangeRate` keeps, per day and currency, how many units of
the reporting currency one unit of the currency is worth. A subscription row is
converted at the rate of the latest day on or before its `started_on`, once: so a later
rate never rewrites its history, and exchange rates alone never create expansion or
contraction. `subscription_rates_refresh` is the only writer of `Subscription.fx_rate`.

Two files are read, told apart by their header: the European Central Bank's reference
rates as published (`eurofxref-hist.csv`: `Date,USD,JPY,…,`, EUR-based, newest first,
`N/A` where a currency was not quoted), from which the cross rates to the reporting
currency are derived; and a plain `date;currency;rate` file (`,` or tab separators, a
decimal comma, Latin-1 or UTF-8, as every import).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import pandas as pd
from django.db import connection
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_noop

from accounts.models import ExchangeRate, Subscription
from accounts.models.customers import FX_RATE_DECIMALS, FX_RATE_DIGITS
from accounts.signals import revenue_changed
from accounts.tenancy import current_organization
from csplatform import bounds
from csplatform.batches import WriteResult
from csplatform.imports import (
    MAX_FILE_BYTES,
    CellError,
    Column,
    ImportKind,
    date_value,
    decimal_number,
    decode,
    parse_frame,
    read_frame,
    shown_value,
)
from csplatform.tasks import lock_namespace
from csplatform.texts import Phrase

# ISO 4217 codes, current and the historic ones the ECB's file still carries (CYP, EEK,
# HRK, LTL, LVL, MTL, ROL, SIT, SKK, TRL): a code outside it is a typo, not a currency.
ISO_4217 = frozenset(
    re.findall(
        r"[A-Z]{3}",
        """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH
    UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XCD XCG XOF XPD XPF XPT
    YER ZAR ZMW ZWG ZWL
    CYP EEK HRK LTL LVL MTL ROL SIT SKK TRL
""",
    )
)
EUR = "EUR"
_QUANTUM = Decimal(1).scaleb(-FX_RATE_DECIMALS)
# The largest rate the column holds (24 digits, 12 decimals).
_MAX_RATE = Decimal(10) ** (FX_RATE_DIGITS - FX_RATE_DECIMALS)
_ECB_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ECB_DAILY_DAY = re.compile(
    r"^\d{1,2} (?:january|february|march|april|may|june|july|august|september|october"
    r"|november|december) \d{4}$",
    re.IGNORECASE,
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


def _rounded(rate: Decimal) -> Decimal:
    return rate.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


# --- reading the files -------------------------------------------------------------------


def _error(line: int, column: str, msgid: str, params: dict[str, Any] | None = None) -> CellError:
    return CellError(line, column, Phrase(msgid, params or {}))


def _is_ecb(header: list[str]) -> bool:
    """The ECB's header: `Date` then currency codes (and the published trailing comma)."""
    cells = [c.strip() for c in header]
    while cells and cells[-1] == "":
        cells.pop()
    return (
        len(cells) > 1
        and cells[0].lower().lstrip("\ufeff") == "date"
        and all(re.fullmatch(r"[A-Za-z]{3}", c) for c in cells[1:])
    )


def fx_rates_read(data: bytes, context: dict[str, Any]) -> tuple[pd.DataFrame, list[CellError]]:
    """The rates of an exchange-rate file to the current organization's reporting
    currency: a frame of `day` (date), `currency` and `rate` (Decimal, > 0), indexed by
    the file's line − 2 (the import's convention), and every problem with its line and
    column. Either file (module docstring); the reporting currency itself is left out
    (its rate is always 1)."""
    reporting = current_organization().currency
    if len(data) > MAX_FILE_BYTES:
        read_frame(data)  # raises the import's own report of the size
    try:
        text = decode(data)
    except ValueError:
        read_frame(data)  # raises the import's own report of the encodings
        raise
    header_line = text.lstrip("\ufeff").split("\n", 1)[0]
    header = next(csv.reader(io.StringIO(header_line)), [])
    if _is_ecb(header):
        return _ecb_read(text.lstrip("\ufeff"), reporting)
    return _plain_read(data, reporting, context)


def _ecb_read(text: str, reporting: str) -> tuple[pd.DataFrame, list[CellError]]:
    """The ECB's reference rates (1 EUR = x C) as rates to `reporting` (R):
    rate(C→R) = EUR_R ÷ EUR_C; R = EUR: 1 ÷ EUR_C; C = EUR: EUR_R. A day on which R
    was not quoted (`N/A`) gives no rate; a cell `N/A` or empty gives none for its
    currency that day; a day before the earliest accepted one (2000-01-01,
    csplatform.bounds) is skipped."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [c.strip() for c in rows[0]]  # errors name the columns as the file does
    while header and header[-1] == "":
        header.pop()
    currencies = [c.upper() for c in header[1:]]
    errors: list[CellError] = []
    for code in sorted({c for c in currencies if c not in ISO_4217}):
        errors.append(
            _error(
                1,
                code,
                gettext_noop("%(value)s is not an ISO 4217 currency code."),
                {"value": shown_value(code)},
            )
        )
    if reporting != EUR and reporting not in currencies:
        errors.append(
            _error(
                1,
                "-",
                gettext_noop(
                    "The file has no %(currency)s column: the rates to %(currency)s, this "
                    "organization's reporting currency, cannot be derived from it."
                ),
                {"currency": reporting},
            )
        )
    if errors:
        return _empty(), errors
    days: list[date] = []
    codes: list[str] = []
    rates: list[Decimal] = []
    lines: list[int] = []
    seen_days: dict[date, int] = {}
    earliest, latest = bounds.day_range()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row]
        extra = [c for c in cells[len(header) :] if c]
        if extra:
            errors.append(
                _error(
                    number,
                    str(len(header) + 1),
                    gettext_noop("This line has more values than the header has columns."),
                )
            )
            continue
        raw_day = cells[0]
        day = _iso_day(raw_day)
        if day is not None and day < earliest:
            # The file starts in 1999, before any day a subscription may start
            # (csplatform.bounds): such a rate could never be used.
            continue
        if day is None or day > latest:
            errors.append(
                _error(
                    number,
                    header[0],
                    gettext_noop("%(value)s is not valid: expected a date such as 2025-12-31."),
                    {"value": shown_value(raw_day)},
                )
            )
            continue
        if day in seen_days:
            errors.append(
                _error(
                    number,
                    header[0],
                    gettext_noop("%(value)s appears twice in the file (line %(first)s too)."),
                    {"value": raw_day, "first": seen_days[day]},
                )
            )
            continue
        seen_days[day] = number
        per_eur: dict[str, Decimal] = {EUR: Decimal(1)}
        bad = False
        for code, raw in zip(currencies, cells[1:], strict=False):
            if raw in ("", "N/A"):
                continue
            value = _positive_decimal(raw)
            if value is None:
                errors.append(
                    _error(
                        number,
                        code,
                        gettext_noop(
                            "%(value)s is not valid: expected a rate above zero such as "
                            "1.0862, or N/A."
                        ),
                        {"value": shown_value(raw)},
                    )
                )
                bad = True
                continue
            per_eur[code] = value
        if bad or reporting not in per_eur:
            continue
        to_reporting = per_eur[reporting]
        for code, value in per_eur.items():
            if code == reporting:
                continue
            days.append(day)
            codes.append(code)
            rates.append(_rounded(to_reporting / value))
            lines.append(number)
    if errors:
        return _empty(), errors
    return _frame(days, codes, rates, lines), _range_errors(days, codes, rates, lines)


def _plain_read(
    data: bytes, reporting: str, context: dict[str, Any]
) -> tuple[pd.DataFrame, list[CellError]]:
    """A `date;currency;rate` file: 1 unit of `currency` = `rate` units of the
    reporting currency on `date`."""
    kind = ImportKind(
        name="exchange_rates",
        label=Phrase(gettext_noop("exchange rates")),
        columns=PLAIN_COLUMNS,
        write=lambda typed, extra, dry_run: WriteResult(),
    )
    frame = read_frame(data)
    typed, _extra, errors, _warnings = parse_frame(kind, frame, context)
    lines = pd.Series(range(2, len(frame) + 2), index=frame.index)
    bad_lines = {e.line for e in errors}
    days: list[date] = []
    codes: list[str] = []
    rates: list[Decimal] = []
    kept: list[int] = []
    seen: dict[tuple[str, date], int] = {}
    for line, day, code, normalized in zip(
        lines, typed.get("date", []), typed.get("currency", []), typed.get("rate", []), strict=True
    ):
        if line in bad_lines:
            continue
        if code not in ISO_4217:
            errors.append(
                _error(
                    line,
                    "currency",
                    gettext_noop("%(value)s is not an ISO 4217 currency code."),
                    {"value": shown_value(code)},
                )
            )
            continue
        if code == reporting:
            errors.append(
                _error(
                    line,
                    "currency",
                    gettext_noop(
                        "%(currency)s is this organization's reporting currency: its rate is "
                        "always 1. Leave this line out."
                    ),
                    {"currency": code},
                )
            )
            continue
        rate = _positive_decimal(normalized)
        if rate is None:
            errors.append(
                _error(
                    line,
                    "rate",
                    gettext_noop("%(value)s is not valid: expected a rate above zero."),
                    {"value": shown_value(str(normalized))},
                )
            )
            continue
        if (code, day) in seen:
            errors.append(
                _error(
                    line,
                    "date",
                    gettext_noop(
                        "%(currency)s on %(day)s appears twice in the file (line %(first)s too)."
                    ),
                    {"currency": code, "day": day.isoformat(), "first": seen[(code, day)]},
                )
            )
            continue
        seen[(code, day)] = line
        days.append(day)
        codes.append(code)
        rates.append(_rounded(rate))
        kept.append(line)
    if errors:
        return _empty(), errors
    return _frame(days, codes, rates, kept), _range_errors(days, codes, rates, kept)


def _currency_code(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    values = raw.str.upper()
    return values, ~values.str.fullmatch(r"[A-Z]{3}"), Phrase(gettext_noop("a code such as USD"))


def _day(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    """A day (ISO or dd/mm/yyyy) within the accepted range (csplatform.bounds)."""
    values, invalid, expected = date_value(raw, context)
    earliest, latest = bounds.day_range()
    out_of_range = values.map(lambda d: d is not None and not earliest <= d <= latest)
    return values, invalid | out_of_range.astype(bool), expected


PLAIN_COLUMNS = [
    Column("date", _day),
    Column("currency", _currency_code),
    Column("rate", decimal_number),
]


def _iso_day(raw: str) -> date | None:
    """The history file's 2024-01-05, or the daily file's (eurofxref.csv) 05 January 2024."""
    try:
        if _ECB_DAY.match(raw):
            return date.fromisoformat(raw)
        if _ECB_DAILY_DAY.match(raw):
            day, month, year = raw.split()
            return date(int(year), _MONTHS.index(month.lower()) + 1, int(day))
    except ValueError:
        return None
    return None


def _positive_decimal(raw: Any) -> Decimal | None:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0 or value >= _MAX_RATE:
        return None
    return value


def _range_errors(
    days: Sequence[date], codes: Sequence[str], rates: Sequence[Decimal], lines: Sequence[int]
) -> list[CellError]:
    """A rate so small it rounds to zero at 12 decimals cannot be stored."""
    return [
        _error(
            line,
            code,
            gettext_noop("The rate of %(currency)s on %(day)s rounds to zero at 12 decimals."),
            {"currency": code, "day": day.isoformat()},
        )
        for day, code, rate, line in zip(days, codes, rates, lines, strict=True)
        if rate <= 0
    ]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"day": [], "currency": [], "rate": []})


def _frame(
    days: list[date], codes: list[str], rates: list[Decimal], lines: list[int]
) -> pd.DataFrame:
    return pd.DataFrame(
        {"day": days, "currency": codes, "rate": rates},
        index=pd.Index([line - 2 for line in lines]),
    )


# --- writing -----------------------------------------------------------------------------


def rates_lock(*, shared: bool) -> None:
    """Wait for, then hold to the end of the transaction, the current organization's
    "fx" advisory lock (keyed as csplatform.tasks.organization_lock's): exclusive for a
    rate import, shared for a write of new subscriptions, so the two never overlap.
    Why: a new subscription's rate is set on insert from the committed rates, and an
    import converts again only the committed subscriptions; overlapping, a subscription
    inserted before the import commits and committed after its refresh kept a NULL (or
    old) rate for good. Serialized, whichever runs second sees the other's rows.
    Subscription writers do not block each other (docs/metrics.md#currencies)."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(
            # One of two constant function names, never input.
            f"SELECT {function}(%s, %s)",  # nosec B608
            [lock_namespace("fx"), current_organization().pk],
        )


_UPSERT = """
INSERT INTO accounts_exchangerate (organization_id, day, currency, rate)
SELECT %(organization)s, r.day, r.currency, r.rate
FROM unnest(%(days)s::date[], %(currencies)s::text[], %(rates)s::numeric[])
     AS r(day, currency, rate)
ON CONFLICT (organization_id, currency, day) DO UPDATE SET rate = EXCLUDED.rate
WHERE accounts_exchangerate.rate IS DISTINCT FROM EXCLUDED.rate
RETURNING (xmax = 0) AS inserted
"""
_COUNT = """
SELECT count(*) FILTER (WHERE e.id IS NULL),
       count(*) FILTER (WHERE e.id IS NOT NULL AND e.rate <> r.rate)
FROM unnest(%(days)s::date[], %(currencies)s::text[], %(rates)s::numeric[])
     AS r(day, currency, rate)
LEFT JOIN accounts_exchangerate e
  ON e.organization_id = %(organization)s AND e.currency = r.currency AND e.day = r.day
"""


def exchange_rates_upsert(rates: pd.DataFrame, *, dry_run: bool = False) -> WriteResult:
    """Record the current organization's rates (`day`, `currency`, `rate` columns, one
    row per currency and day), replacing a day recorded already, in one statement; then
    convert the subscriptions they concern again (subscription_rates_refresh), holding
    the organization's "fx" lock to the end of the transaction (rates_lock). `dry_run`:
    count what would change, write nothing."""
    params: dict[str, Any] = {
        "organization": current_organization().pk,
        "days": list(rates["day"]),
        "currencies": list(rates["currency"]),
        "rates": list(rates["rate"]),
    }
    result = WriteResult()
    if not dry_run:
        rates_lock(shared=False)  # the subscriptions written meanwhile are committed first
    with connection.cursor() as cursor:
        if dry_run:
            cursor.execute(_COUNT, params)
            result.created, result.updated = cursor.fetchone()
        else:
            cursor.execute(_UPSERT, params)
            inserted = [row[0] for row in cursor.fetchall()]
            result.created = sum(inserted)
            result.updated = len(inserted) - result.created
    result.unchanged = len(rates) - result.created - result.updated
    if not dry_run and (result.created or result.updated):
        subscription_rates_refresh(
            currencies=sorted(set(rates["currency"])), since=min(rates["day"])
        )
    return result


# csp_fx_rate (migration accounts 0021) is the one definition of the rate; the insert
# trigger applies it to every new subscription, this applies it again to existing ones.
_REFRESH = """
UPDATE accounts_subscription s SET fx_rate = n.rate
FROM (
    SELECT t.id, csp_fx_rate(t.organization_id, t.currency, t.started_on) AS rate
    FROM accounts_subscription t
    WHERE t.organization_id = %(organization)s
      AND (%(ids)s::bigint[] IS NULL OR t.id = ANY(%(ids)s::bigint[]))
      AND (%(currencies)s::text[] IS NULL OR t.currency = ANY(%(currencies)s::text[]))
      AND (%(since)s::date IS NULL OR t.started_on >= %(since)s::date)
) n
WHERE s.id = n.id AND s.organization_id = %(organization)s
  AND s.fx_rate IS DISTINCT FROM n.rate
RETURNING s.account_id, s.started_on
"""


def subscription_rates_refresh(
    *,
    subscription_ids: Sequence[int] | None = None,
    currencies: Sequence[str] | None = None,
    since: date | None = None,
) -> int:
    """Set each subscription's `fx_rate` again (all of the current organization's, or
    those of `subscription_ids`): exactly 1 in the reporting currency, else the rate of
    the latest day on or before its `started_on`, NULL without one (csp_fx_rate; a new
    subscription gets it on insert already). `currencies` and `since` narrow it to the
    subscriptions a rate import can change: in those currencies, started on or after
    the earliest day imported. One statement; the rows whose
    rate changed mark their accounts' metrics stale from their earliest start, as any
    write of subscriptions does (accounts.signals.revenue_changed). Returns how many
    changed."""
    organization = current_organization()
    with connection.cursor() as cursor:
        cursor.execute(
            _REFRESH,
            {
                "organization": organization.pk,
                "ids": None if subscription_ids is None else list(subscription_ids),
                "currencies": None if currencies is None else list(currencies),
                "since": since,
            },
        )
        changed = cursor.fetchall()
    if changed:
        revenue_changed.send(
            sender=Subscription,
            since=min(started_on for _account, started_on in changed),
            accounts=sorted({account_id for account_id, _started in changed}),
        )
    return len(changed)


_UNRATED = """
SELECT q.position FROM unnest(%(currencies)s::text[], %(days)s::date[])
     WITH ORDINALITY AS q(currency, day, position)
WHERE q.currency <> %(reporting)s AND NOT EXISTS (
    SELECT 1 FROM accounts_exchangerate e
    WHERE e.organization_id = %(organization)s AND e.currency = q.currency
      AND e.day <= q.day
)
"""


def unrated_positions(pairs: Sequence[tuple[str, date]]) -> set[int]:
    """Of (`currency`, `day`) pairs, the 0-based positions of those with no rate on or
    before the day (never one in the reporting currency), in one query."""
    if not pairs:
        return set()
    organization = current_organization()
    with connection.cursor() as cursor:
        cursor.execute(
            _UNRATED,
            {
                "currencies": [c for c, _ in pairs],
                "days": [d for _, d in pairs],
                "reporting": organization.currency,
                "organization": organization.pk,
            },
        )
        return {position - 1 for (position,) in cursor.fetchall()}


def exchange_rates_exist() -> bool:
    """True when the current organization has recorded any exchange rate."""
    return ExchangeRate.objects.exists()


# --- the import kind ---------------------------------------------------------------------


def write_exchange_rates(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    return exchange_rates_upsert(typed, dry_run=dry_run)


# --- reads -------------------------------------------------------------------------------

# The "missing rates" notice names this many subscriptions, and counts the rest.
MISSING_RATES_SHOWN = 50


def unrated_subscription_list(*, account_id: int | None = None) -> QuerySet[Subscription]:
    """The current organization's subscriptions (of `account_id` only, if given) with no
    exchange rate on or before their start day: left out of every figure until rates
    are imported, so named on the "missing rates" notice. Oldest start first, with
    their accounts."""
    subscriptions = Subscription.objects.filter(fx_rate__isnull=True)
    if account_id is not None:
        subscriptions = subscriptions.filter(account_id=account_id)
    return subscriptions.select_related("account").order_by("started_on", "external_id")


def missing_rates_context(*, account_id: int | None = None, named: bool = True) -> dict[str, Any]:
    """What the "missing rates" notice (dashboard_components.missing_rates_notice)
    shows: `missing_rates` (at most MISSING_RATES_SHOWN subscriptions with their
    accounts; none unless `named`), `missing_rates_by_currency` ((currency, how many)
    pairs, A to Z) and `missing_rates_count` (all of them). `named` False is for board
    viewers: an account's name from a billing system is often a person's, so they see
    the counts per currency only. Two queries at most."""
    unrated = unrated_subscription_list(account_id=account_id)
    by_currency = [
        (row["currency"], row["n"])
        for row in unrated.order_by()
        .values("currency")
        .annotate(n=Count("pk"))
        .order_by("currency")
    ]
    count = sum(n for _currency, n in by_currency)
    shown = list(unrated[:MISSING_RATES_SHOWN]) if named and count else []
    return {
        "missing_rates": shown,
        "missing_rates_count": count,
        "missing_rates_by_currency": by_currency,
    }


def rate_day() -> Subquery:
    """SQL, on a subscription: the day of the exchange rate it is converted at (the
    latest on or before its start day, in its currency); NULL in the reporting
    currency or without one."""
    return Subquery(
        ExchangeRate.objects.filter(currency=OuterRef("currency"), day__lte=OuterRef("started_on"))
        .order_by("-day")
        .values("day")[:1]
    )
