"""CSV import of usage events and touchpoints (registered in JourneysConfig.ready)."""

from datetime import UTC, datetime

import pandas as pd
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.ingest import CLOCK_SKEW, EARLIEST
from accounts.models import Account, Contact
from csplatform import bounds
from csplatform.batches import RowError, RowsRejected, WriteResult
from csplatform.imports import (
    Column,
    ImportKind,
    choice,
    datetime_value,
    decimal_number,
    email,
    records,
    register,
    text,
)
from csplatform.texts import Phrase
from journeys import ingest

SENTIMENTS = {
    "positive": "positive",
    "positivo": "positive",
    "neutral": "neutral",
    "neutro": "neutral",
    "negative": "negative",
    "negativo": "negative",
}


def write_events(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    """Validate references for the whole frame at once, then COPY it into staging (and
    with `dry_run`, count the new events there instead of inserting them)."""
    frame = typed.reset_index(drop=True)
    if "contact_email" not in frame:
        frame["contact_email"] = ""
    errors: list[RowError] = []
    known_accounts = set(
        Account.objects.filter(external_id__in=frame["account_external_id"].unique()).values_list(
            "external_id", flat=True
        )
    )
    unknown = ~frame["account_external_id"].isin(known_accounts)
    errors += [
        RowError(
            int(i),
            "account_external_id",
            Phrase(
                gettext_noop(
                    "No account has the external id %(id)s: import or create the account first."
                ),
                {"id": value},
            ),
        )
        for i, value in frame.loc[unknown, "account_external_id"].items()
    ]
    with_contact = (frame["contact_email"] != "") & ~unknown
    if with_contact.any():
        pairs = frame.loc[with_contact, ["account_external_id", "contact_email"]]
        known_pairs = set(
            Contact.objects.filter(
                account__external_id__in=pairs["account_external_id"].unique(),
                email__in=pairs["contact_email"].unique(),
            ).values_list("account__external_id", "email")
        )
        missing = ~pd.Series(
            list(zip(pairs.iloc[:, 0], pairs.iloc[:, 1], strict=True)), index=pairs.index
        ).isin(known_pairs)
        errors += [
            RowError(
                int(i),
                "contact_email",
                Phrase(
                    gettext_noop(
                        "Account %(account)s has no contact %(email)s: import the contact first."
                    ),
                    {"account": row.account_external_id, "email": row.contact_email},
                ),
            )
            for i, row in pairs[missing].iterrows()
        ]
    latest = pd.Timestamp(timezone.now() + CLOCK_SKEW)
    future = frame["occurred_at"] > latest
    errors += [
        RowError(
            int(i),
            "occurred_at",
            Phrase(
                gettext_noop(
                    "%(when)s is in the future; only events that happened can be recorded."
                ),
                {"when": when.isoformat()},
            ),
        )
        for i, when in frame.loc[future, "occurred_at"].items()
    ]
    too_old = frame["occurred_at"] < pd.Timestamp(EARLIEST)
    errors += [
        RowError(
            int(i),
            "occurred_at",
            Phrase(
                gettext_noop("%(when)s is before the year 2000: check the date."),
                {"when": when.isoformat()},
            ),
        )
        for i, when in frame.loc[too_old, "occurred_at"].items()
    ]
    if "quantity" in frame:
        negative = pd.to_numeric(frame["quantity"], errors="coerce") < 0
        errors += [
            RowError(
                int(i),
                "quantity",
                Phrase(
                    gettext_noop("%(value)s is negative: a quantity is 0 or more."),
                    {"value": value},
                ),
            )
            for i, value in frame.loc[negative, "quantity"].items()
        ]
    if "event_id" in frame:
        ids = frame["event_id"].where(frame["event_id"] != "")
        repeated = ids.notna() & ids.duplicated()
        errors += [
            RowError(
                int(i),
                "event_id",
                Phrase(
                    gettext_noop("The id %(id)s appears more than once in this batch."),
                    {"id": value},
                ),
            )
            for i, value in ids[repeated].items()
        ]
    if errors:
        raise RowsRejected(errors)
    staging = pd.DataFrame(
        {
            "external_id": frame.get("event_id", ""),
            "account_external_id": frame["account_external_id"],
            "contact_email": frame["contact_email"],
            "name": frame["event"],
            "occurred_at": frame["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
            "quantity": frame.get("quantity"),
            "properties": None,
        }
    ).replace("", None)
    csv_text = staging.to_csv(index=False, header=False, na_rep="")
    return ingest.events_ingest_staged_csv(csv_text, len(staging), dry_run=dry_run)


def write_touchpoints(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    rows = records(typed)
    for row in rows:
        row["occurred_at"] = _python_datetime(row["occurred_at"])
    return ingest.touchpoints_record(rows, dry_run=dry_run)


def _python_datetime(value: pd.Timestamp) -> datetime:
    return value.to_pydatetime().astimezone(UTC)


def register_imports() -> None:
    register(
        ImportKind(
            name="events",
            label=Phrase(gettext_noop("usage events")),
            columns=[
                Column("account_external_id", text()),
                Column("event", text(200)),
                Column("occurred_at", datetime_value),
                Column("contact_email", email, required=False),
                Column("quantity", decimal_number, required=False),
                Column("event_id", text(), required=False),
            ],
            write=write_events,
            field_to_column={"name": "event", "external_id": "event_id"},
        )
    )
    register(
        ImportKind(
            name="touchpoints",
            label=Phrase(gettext_noop("touchpoints")),
            columns=[
                Column("account_external_id", text()),
                Column("touchpoint", text(200)),
                Column("occurred_at", datetime_value),
                Column("contact_email", email, required=False),
                Column("sentiment", choice(SENTIMENTS), required=False),
                Column("notes", text(bounds.MAX_NOTE_CHARS), required=False),
                Column("external_id", text(), required=False),
            ],
            write=write_touchpoints,
        )
    )
