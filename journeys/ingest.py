"""Usage events and touchpoints in: validated as a batch, written set-based.

Events go through COPY into a temporary table, then one statement inserts
the new ones (a retried event is skipped by its idempotency key) and queues
exactly those for the daily rollups, which a Celery task brings up to date
seconds later (journeys.rollups): an event is counted once, never twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.ingest import Row, account_reference_errors, dedupe_key, instant_errors
from accounts.models import Contact, normalize_email
from accounts.signals import Feedback
from accounts.tenancy import current_organization
from csplatform import bounds
from csplatform.batches import RowError, RowsRejected, WriteResult
from csplatform.db import copy_in
from csplatform.texts import Phrase
from journeys import rollups
from journeys.models import Channel, Sentiment, Touchpoint, TouchpointType
from journeys.signals import activity_changed

MAX_BATCH = 10_000
# The touchpoint type a negative survey response is recorded under.
SURVEY_TOUCHPOINT = "Survey response"


def _quantity_errors(rows: Sequence[Row]) -> list[RowError]:
    """Negative quantities: an event counts something that happened, never less than none."""
    return [
        RowError(
            index,
            "quantity",
            Phrase(
                gettext_noop("%(value)s is negative: a quantity is 0 or more."),
                {"value": format(Decimal(row["quantity"]).normalize(), "f")},
            ),
        )
        for index, row in enumerate(rows)
        if row.get("quantity") is not None and row["quantity"] < 0
    ]


def _notes_errors(rows: Sequence[Row]) -> list[RowError]:
    """Notes longer than the bound (csplatform.bounds.MAX_NOTE_CHARS)."""
    return [
        RowError(index, "notes", _notes_too_long(len(row["notes"])))
        for index, row in enumerate(rows)
        if len(row.get("notes") or "") > bounds.MAX_NOTE_CHARS
    ]


def _notes_too_long(length: int) -> Phrase:
    return Phrase(
        gettext_noop("Notes can have at most %(max)s characters; these have %(length)s."),
        {"max": bounds.MAX_NOTE_CHARS, "length": length},
    )


def _repeated_id_errors(rows: Sequence[Row], field: str) -> list[RowError]:
    """Two rows of one batch with the same id of yours: which one is meant is unclear."""
    ids = [row.get("external_id") or None for row in rows]
    first: dict[str, int] = {}
    errors = []
    for index, value in enumerate(ids):
        if value is None:
            continue
        if value in first:
            errors.append(
                RowError(
                    index,
                    field,
                    Phrase(
                        gettext_noop("The id %(id)s appears more than once in this batch."),
                        {"id": value},
                    ),
                )
            )
        else:
            first[value] = index
    return errors


_STAGING_COLUMNS = (
    "external_id",
    "account_external_id",
    "contact_email",
    "name",
    "occurred_at",
    "quantity",
    "properties",
)


def _create_staging(cursor: Any) -> None:
    # A session temp table, emptied at every commit: created once per connection.
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS ingest_events (external_id text, "
        "account_external_id text, contact_email text, name text, occurred_at timestamptz, "
        "quantity numeric, properties jsonb) ON COMMIT DELETE ROWS"
    )
    cursor.execute("TRUNCATE ingest_events")


@transaction.atomic
def events_ingest(rows: Sequence[Row]) -> WriteResult:
    """Record usage events and queue them for the daily rollups; a repeated event is skipped.

    Each row: account_external_id, name, occurred_at (aware), and optionally
    contact_email, quantity (Decimal, not negative), properties (dict), external_id (the
    sender's event id: the idempotency key when given, else the content is).
    At most MAX_BATCH rows. Returns created (new events) and unchanged (repeats).
    """
    if len(rows) > MAX_BATCH:
        raise RowsRejected(
            [
                RowError(
                    MAX_BATCH,
                    "events",
                    Phrase(
                        gettext_noop("Send at most %(max)s events at a time."), {"max": MAX_BATCH}
                    ),
                )
            ]
        )
    # Accounts and contacts are resolved by the insert itself; only a batch that names
    # an unknown one pays for the row-by-row check that says which.
    errors = instant_errors(rows) + _quantity_errors(rows) + _repeated_id_errors(rows, "id")
    if errors:
        raise RowsRejected(errors)
    if not rows:
        return WriteResult()
    with connection.cursor() as cursor:
        _create_staging(cursor)
        copy_in(
            cursor,
            "ingest_events",
            _STAGING_COLUMNS,
            (
                (
                    row.get("external_id") or None,
                    row["account_external_id"],
                    normalize_email(row["contact_email"]) if row.get("contact_email") else None,
                    row["name"],
                    row["occurred_at"],
                    row.get("quantity"),
                    json.dumps(row["properties"]) if row.get("properties") else None,
                )
                for row in rows
            ),
        )
        inserted = _insert_staged(cursor, explain=lambda: events_validate(rows))
    return WriteResult(created=inserted, unchanged=len(rows) - inserted)


def events_validate(rows: Sequence[Row]) -> None:
    """Raise RowsRejected for events of unknown accounts or contacts, or in the future."""
    reference_errors, _accounts = account_reference_errors(rows, load_accounts=False)
    errors = (
        reference_errors
        + instant_errors(rows)
        + _quantity_errors(rows)
        + _repeated_id_errors(rows, "id")
    )
    if errors:
        raise RowsRejected(errors)


def events_ingest_staged_csv(csv_text: str, count: int, *, dry_run: bool = False) -> WriteResult:
    """Like events_ingest, for rows already validated and written as CSV text in the
    staging column order (the CSV import's fast path). Call inside a transaction; it is
    rolled back if an account or contact vanished since the validation. `dry_run`:
    count the events that would be new, insert nothing (the staging table is temporary
    and has no sequence)."""
    with connection.cursor() as cursor:
        _create_staging(cursor)
        copy_in(cursor, "ingest_events", _STAGING_COLUMNS, csv_text, csv=True)
        if dry_run:
            cursor.execute(_COUNT_NEW_EVENTS, {"org": current_organization().pk})
            inserted = cursor.fetchone()[0]
            cursor.execute("TRUNCATE ingest_events")
        else:
            inserted = _insert_staged(cursor)
    return WriteResult(created=inserted, unchanged=count - inserted)


def _insert_staged(cursor: Any, *, explain: Callable[[], None] | None = None) -> int:
    """Insert the staged events. If any names an unknown account or contact, raise
    RowsRejected (the caller's transaction then writes nothing), saying which rows
    through `explain` when given."""
    organization = current_organization()
    cursor.execute(_INSERT_EVENTS, {"org": organization.pk, "now": timezone.now()})
    inserted, _queued, unresolved = cursor.fetchone()
    if unresolved:
        if explain is not None:
            explain()
        # Known when validated, unknown now: deleted meanwhile.
        raise RowsRejected(
            [
                RowError(
                    0,
                    "account_external_id",
                    Phrase(
                        gettext_noop(
                            "An account or contact was deleted while the events were written: "
                            "try again."
                        )
                    ),
                )
            ]
        )
    cursor.execute("TRUNCATE ingest_events")
    if inserted:
        rollups.schedule_roll_up()
    return inserted


# The idempotency key (in `staged`): the sender's event id when given, else the event's
# content (account, event, instant in UTC, contact, quantity without trailing zeros, properties).
_STAGED_KEYS = """
staged AS (
    SELECT s.*, md5(CASE WHEN s.external_id IS NOT NULL AND s.external_id <> ''
            THEN 'event:id:' || s.external_id
            ELSE 'event:content:' || concat_ws('|', s.account_external_id, s.name,
                to_char(s.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                coalesce(s.contact_email, ''), coalesce(trim_scale(s.quantity)::text, ''),
                coalesce(s.properties, '{}'::jsonb)::text)
        END)::uuid AS dedupe_key
    FROM ingest_events s
)"""
# The ids of the events inserted go to the roll-up queue in the same statement.
_INSERT_EVENTS = (
    "WITH"  # noqa: S608 (constant text: the staged keys' CTE) # nosec B608
    + _STAGED_KEYS
    + """, resolved AS (
    SELECT s.*, a.id AS account_id, c.id AS contact_id
    FROM staged s
    LEFT JOIN accounts_account a
        ON a.organization_id = %(org)s AND a.external_id = s.account_external_id
    LEFT JOIN accounts_contact c
        ON c.organization_id = %(org)s AND c.account_id = a.id AND lower(c.email) = s.contact_email
), inserted AS (
    INSERT INTO journeys_usageevent
        (organization_id, account_id, contact_id, name, occurred_at, quantity, properties,
         dedupe_key, received_at)
    SELECT DISTINCT ON (r.dedupe_key)
        %(org)s, r.account_id, r.contact_id, r.name, r.occurred_at, r.quantity,
        coalesce(r.properties, '{}'::jsonb), r.dedupe_key, %(now)s
    FROM resolved r
    WHERE r.account_id IS NOT NULL
    ORDER BY r.dedupe_key
    ON CONFLICT (organization_id, dedupe_key) DO NOTHING
    RETURNING id
), queued AS (
    INSERT INTO journeys_pendingusagerollup (organization_id, event_ids, created_at)
    SELECT %(org)s, array_agg(id), %(now)s FROM inserted HAVING count(*) > 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM queued),
       (SELECT count(*) FROM resolved
        WHERE account_id IS NULL OR (contact_email IS NOT NULL AND contact_id IS NULL))
"""
)
# What _INSERT_EVENTS would insert, counted: the staged keys not yet recorded.
_COUNT_NEW_EVENTS = (
    "WITH"  # noqa: S608 (constant text: the staged keys' CTE) # nosec B608
    + _STAGED_KEYS
    + """
SELECT count(DISTINCT s.dedupe_key) FROM staged s
WHERE NOT EXISTS (
    SELECT 1 FROM journeys_usageevent e
    WHERE e.organization_id = %(org)s AND e.dedupe_key = s.dedupe_key
)
"""
)


def touchpoint_key(row: Row) -> uuid.UUID:
    """The touchpoint's idempotency key, from its content written one way only: the email
    lower-cased, empty notes as none, and the default sentiment spelled out."""
    canonical = {
        **row,
        "contact_email": normalize_email(row["contact_email"])
        if row.get("contact_email")
        else None,
        "notes": row.get("notes") or None,
        "sentiment": row.get("sentiment") or Sentiment.NEUTRAL,
    }
    return dedupe_key("touchpoint", canonical, TOUCHPOINT_CONTENT)


TOUCHPOINT_CONTENT = [
    "account_external_id",
    "touchpoint",
    "occurred_at",
    "contact_email",
    "sentiment",
    "notes",
]


@transaction.atomic
def touchpoints_record(
    rows: Sequence[Row], *, created_by: Any = None, dry_run: bool = False
) -> WriteResult:
    """Record touchpoints; a repeated one (same external_id, or same content) is skipped.

    Each row: account_external_id, touchpoint (the type's name: a new name
    creates the type), occurred_at, and optionally contact_email, sentiment,
    notes, external_id. `dry_run`: validate and count, write nothing (no type either).
    """
    reference_errors, accounts = account_reference_errors(rows)
    errors = (
        reference_errors
        + instant_errors(rows)
        + _notes_errors(rows)
        + _repeated_id_errors(rows, "external_id")
    )
    for index, row in enumerate(rows):
        if row.get("sentiment") and row["sentiment"] not in Sentiment.values:
            errors.append(
                RowError(
                    index,
                    "sentiment",
                    Phrase(
                        gettext_noop("Use positive, neutral or negative, not %(value)s."),
                        {"value": row["sentiment"]},
                    ),
                )
            )
    if errors:
        raise RowsRejected(errors)
    if dry_run:
        keys = {touchpoint_key(row) for row in rows}
        new = len(keys) - Touchpoint.objects.filter(dedupe_key__in=keys).count()
        return WriteResult(created=new, unchanged=len(rows) - new)

    names = {r["touchpoint"] for r in rows}
    # A concurrent request may create the same type: ignore the conflict, then read all.
    TouchpointType.objects.bulk_create(
        [TouchpointType(name=name) for name in names], ignore_conflicts=True
    )
    types = {t.name: t for t in TouchpointType.objects.filter(name__in=names)}
    contacts = {
        (c.account_id, c.email): c
        for c in Contact.objects.filter(
            account__in=accounts.values(),
            email__in={normalize_email(r["contact_email"]) for r in rows if r.get("contact_email")},
        )
    }
    touchpoints = [
        Touchpoint(
            account=accounts[row["account_external_id"]],
            contact=contacts.get(
                (
                    accounts[row["account_external_id"]].pk,
                    normalize_email(row.get("contact_email") or ""),
                )
            ),
            type=types[row["touchpoint"]],
            occurred_at=row["occurred_at"],
            sentiment=row.get("sentiment") or Sentiment.NEUTRAL,
            notes=row.get("notes") or "",
            external_id=row.get("external_id") or "",
            dedupe_key=touchpoint_key(row),
            created_by=created_by,
        )
        for row in rows
    ]
    before = Touchpoint.objects.filter(dedupe_key__in=[t.dedupe_key for t in touchpoints]).count()
    Touchpoint.objects.bulk_create(touchpoints, ignore_conflicts=True)
    after = Touchpoint.objects.filter(dedupe_key__in=[t.dedupe_key for t in touchpoints]).count()
    if after > before:
        activity_changed.send(sender=Touchpoint)
    return WriteResult(created=after - before, unchanged=len(rows) - (after - before))


def touchpoint_update(
    *, touchpoint: Touchpoint, sentiment: str | None = None, notes: str | None = None
) -> Touchpoint:
    """Correct a touchpoint's sentiment or notes. Its idempotency key stays as it was, so a
    retry of the original request still finds it instead of recording it again. Notes
    longer than the bound are refused (ValidationError on `notes`)."""
    if notes is not None and len(notes) > bounds.MAX_NOTE_CHARS:
        raise ValidationError({"notes": str(_notes_too_long(len(notes)))})
    if sentiment is not None:
        touchpoint.sentiment = sentiment
    if notes is not None:
        touchpoint.notes = notes
    touchpoint.save(update_fields=["sentiment", "notes"])
    activity_changed.send(sender=Touchpoint)
    return touchpoint


FEEDBACK_TOUCHPOINT_PREFIX = "survey-response-"


def feedback_touchpoint_id(response_id: int) -> str:
    """The external id of the touchpoint a negative survey response is recorded as: the
    link between the two (surveys and journeys share no foreign key)."""
    return f"{FEEDBACK_TOUCHPOINT_PREFIX}{response_id}"


def feedback_touchpoint_id_of(response_id: Any) -> Concat:
    """feedback_touchpoint_id in a query: the external id of the touchpoint recorded for
    the response whose id `response_id` (a field or OuterRef) holds."""
    return Concat(
        Value(FEEDBACK_TOUCHPOINT_PREFIX), Cast(response_id, CharField()), output_field=CharField()
    )


def _feedback_touchpoint_key(response_id: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"csplatform:{feedback_touchpoint_id(response_id)}")


def feedback_touchpoints_record(*, feedback: Sequence[Feedback]) -> None:
    """Record each negative response as a negative touchpoint on its account, dated when
    it was given (the receiver of accounts.signals.feedback_recorded; others are left
    alone). Written directly, not through the touchpoint import's checks: the account
    and contact are the response's own. One already recorded (same response) is kept."""
    negative = [f for f in feedback if f.negative]
    if not negative:
        return
    kind, _created = TouchpointType.objects.get_or_create(
        name=SURVEY_TOUCHPOINT, defaults={"channel": Channel.SURVEY}
    )
    Touchpoint.objects.bulk_create(
        [
            Touchpoint(
                account_id=f.account_id,
                contact_id=f.contact_id,
                type=kind,
                occurred_at=f.responded_at,
                sentiment=Sentiment.NEGATIVE,
                # The kind's name as the survey pages show it, and the score: "NPS 3".
                notes=f"{f.kind.upper()} {f.score}",
                external_id=feedback_touchpoint_id(f.response_id),
                dedupe_key=_feedback_touchpoint_key(f.response_id),
            )
            for f in negative
        ],
        ignore_conflicts=True,
    )


def feedback_touchpoints_delete(*, response_ids: Sequence[int]) -> None:
    """Delete the touchpoints recorded for these responses, which are no longer negative
    (the receiver of accounts.signals.feedback_withdrawn)."""
    Touchpoint.objects.filter(
        dedupe_key__in=[_feedback_touchpoint_key(pk) for pk in response_ids]
    ).delete()
