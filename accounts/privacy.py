"""Privacy (LGPD / GDPR): erase a contact on request, export an organization's data.

Erasure (`contact_erase`) removes the person and every text that names them, and
keeps their survey scores as anonymous answers of their account (a company, not a
person), so NPS, CSAT and CES stay what they were. Export
(`organization_export`) writes a ZIP with one CSV per tenant-owned table, streamed
from Postgres with COPY. See docs/privacy.md.

The surveys and journeys tables sit above accounts in the dependency order, so
erasure never reaches into them: it asks each app to erase its own rows through the
hooks in accounts.signals (`contact_erasing`, `contact_erasure_previewing`), which
the apps connect in their AppConfig.ready(). The free-text sweep finds every text and
JSON column of every tenant-owned table by introspection, so a table added later is
covered without a change here.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import F, Field, Model
from django.dispatch import Signal
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import (
    Account,
    ApiKey,
    AuditEvent,
    Contact,
    ContactErasure,
    ErasureChannel,
    ImportStatus,
    ImportUpload,
    Membership,
    User,
    normalize_email,
)
from accounts.signals import contact_erasing, contact_erasure_previewing
from accounts.tenancy import current_organization
from csplatform.crypto import encrypted_fields
from csplatform.db import copy_out, copy_out_lines
from csplatform.imports import decode
from csplatform.spreadsheet import spreadsheet_cell_sql
from csplatform.tenancy import tenant_models

REDACTED = "[erased]"

# What the export leaves out: secrets (an API key's hash) and raw uploaded files (their
# rows are in the other tables). Users' password hashes are never read.
EXPORT_EXCLUDED_COLUMNS: dict[type[Model], set[str]] = {
    ApiKey: {"hashed_key"},
    ImportUpload: {"content"},
    # Derived by Postgres from the name, id and email for search (accounts.search): not
    # data of the organization's, and the export's columns stay as schema version 3 said.
    Account: {"search_name", "search_code", "search_words"},
    Contact: {"search_name", "search_email", "search_words"},
}
# 2: the to-dos' and survey invitations' files follow their models' new names
# (journeys/task.csv → journeys/todo.csv, surveys/invitation.csv →
# surveys/surveyinvitation.csv).
# 3: a CSV text cell that would start a formula starts with an apostrophe (for people,
# in a spreadsheet); the raw rows are in a JSON Lines file beside each CSV (for machines).
EXPORT_SCHEMA_VERSION = 3
# Deflate's fastest level: at the default (6) compressing took most of an export's time,
# for a ZIP about a sixth smaller (bench/export.py).
EXPORT_COMPRESSLEVEL = 1
# Columns whose values are numbers, days, times or booleans: their cells go as Postgres
# prints them (a negative amount stays a number). Every other column is text to a
# spreadsheet, and goes through csplatform.spreadsheet.spreadsheet_cell.
NOT_TEXT_FIELDS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "FloatField",
    "DecimalField",
    "BooleanField",
    "DateField",
    "DateTimeField",
    "TimeField",
    "DurationField",
    "ForeignKey",
    "OneToOneField",
    "UUIDField",
}

# Where a contact's own identity lives, or another person's: the sweep leaves these
# columns alone (the contact rows are deleted; a namesake at another account is
# somebody else).
SWEEP_SKIPPED_COLUMNS = {("accounts_contact", "email"), ("accounts_contact", "name")}
# Never swept at all: the audit log is append-only, and names members (who acted, whom
# they invited), not contacts; an erasure's own entry names the contact by id only.
SWEEP_SKIPPED_TABLES = {"accounts_auditevent"}


def opt_out_hash(organization_id: int, email: str) -> str:
    """The SHA-256 (hex) kept to honour an erased contact's opt-out; the contact table's
    trigger (migration accounts 0011) computes the same from a new row."""
    return hashlib.sha256(f"{organization_id}:{normalize_email(email)}".encode()).hexdigest()


@dataclass
class ErasureResult:
    """What one erasure removed or anonymized, by kind (counts), and its records."""

    erasures: list[ContactErasure]
    removed: dict[str, int] = field(default_factory=dict)
    already_erased: bool = False
    # The email is also a member's of the organization: their membership, their
    # invitations and the audit log keep it (they are the member's, not the contact's).
    member_identity_kept: bool = False


def _regex_escape(text: str) -> str:
    # Postgres ARE: a backslash before a non-alphanumeric character makes it literal.
    return "".join(f"\\{c}" if not c.isalnum() and not c.isspace() else c for c in text)


def identifying_pattern(email: str, names: set[str]) -> str:
    """A Postgres regular expression (case-insensitive use) matching the email as a whole
    address, and each full name as whole words with any spacing."""
    parts = [
        # Not inside a longer address: joana@x.com is not ana@x.com, nor ana@x.com.br.
        r"(?<![[:alnum:]._%+-])" + _regex_escape(email) + r"(?![[:alnum:]_-]|\.[[:alnum:]])"
    ]
    for name in sorted(names):
        words = [_regex_escape(word) for word in name.split()]
        parts.append(r"\y" + r"\s+".join(words) + r"\y")
    return "|".join(f"(?:{part})" for part in parts)


def erasable_names(contacts: list[Contact]) -> set[str]:
    """The full names redacted from free text: only names of two words or more, since a
    first name alone names nobody and would redact every namesake's text."""
    return {" ".join(c.name.split()) for c in contacts if len(c.name.split()) >= 2}


def _text_columns() -> dict[str, list[tuple[str, str, int | None]]]:
    """Every text-like column (text, varchar, json, jsonb) of every tenant-owned table
    that the sweep may rewrite: table -> [(column, data type, max length)].

    Left out: the tables and columns above, and every column a unique index uses (as a
    column, in an expression such as lower(email), or in its condition). Those are keys
    (an account's external id, which the organization's systems upsert by; an invited
    member's email): rewriting one would break the organization's sync, and rewriting
    two to the same text would collide, so the erasure would fail. Found in the
    catalogue, so a key added later is left out without a change here."""
    tables = [
        model._meta.db_table
        for model in tenant_models()
        if model._meta.db_table not in SWEEP_SKIPPED_TABLES
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name, data_type, character_maximum_length
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = ANY(%(tables)s)
              AND data_type IN ('text', 'character varying', 'json', 'jsonb')
              -- a generated column (a search column) follows its redacted source
              AND is_generated = 'NEVER'
              AND (table_name, column_name) NOT IN (
                -- the columns a unique index depends on, its expressions' included
                SELECT t.relname::text, a.attname::text
                FROM pg_index i
                JOIN pg_class t ON t.oid = i.indrelid
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0
                WHERE i.indisunique AND t.relnamespace = current_schema()::regnamespace
                  AND t.relname = ANY(%(tables)s)
                  AND (
                    a.attnum = ANY(i.indkey::int2[])
                    OR EXISTS (
                      SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                        AND d.refclassid = 'pg_class'::regclass
                        AND d.refobjid = i.indrelid AND d.refobjsubid = a.attnum
                    )
                  )
              )
            ORDER BY table_name, ordinal_position
            """,
            {"tables": tables},
        )
        columns: dict[str, list[tuple[str, str, int | None]]] = {}
        for table, column, data_type, length in cursor.fetchall():
            if (table, column) not in SWEEP_SKIPPED_COLUMNS:
                columns.setdefault(table, []).append((column, data_type, length))
    return columns


def _redact_free_text(pattern: str) -> int:
    """Replace every match of `pattern` in the current organization's text and JSON
    columns with REDACTED, one UPDATE per table; returns the rows changed."""
    organization_id = current_organization().pk
    qn = connection.ops.quote_name
    changed = 0
    for table, columns in _text_columns().items():
        assignments, conditions = [], []
        for column, data_type, length in columns:
            as_text = f"{qn(column)}::text" if data_type in ("json", "jsonb") else qn(column)
            if data_type in ("json", "jsonb"):
                # Each string of the JSON (keys and values), never its text as a whole:
                # a name that spans its punctuation must not break it (migration 0017).
                replaced = (
                    f"csp_redact_json({qn(column)}::jsonb, %(pattern)s, %(redacted)s)::{data_type}"
                )
            else:
                replaced = f"regexp_replace({as_text}, %(pattern)s, %(redacted)s, 'gi')"
                if length is not None:
                    replaced = f"left({replaced}, {int(length)})"
            condition = f"{as_text} ~* %(pattern)s"
            assignments.append(
                f"{qn(column)} = CASE WHEN {condition} THEN {replaced} ELSE {qn(column)} END"
            )
            conditions.append(condition)
        with connection.cursor() as cursor:
            # Raw SQL names the organization itself (as journeys.rollups does); RLS
            # would hide other tenants' rows anyway.
            cursor.execute(
                f"UPDATE {qn(table)} SET {', '.join(assignments)} "  # noqa: S608 (names from the catalogue) # nosec B608
                f"WHERE organization_id = %(org)s AND ({' OR '.join(conditions)})",
                {"pattern": pattern, "redacted": REDACTED, "org": organization_id},
            )
            changed += cursor.rowcount
    return changed


def _forget_uploads(email: str) -> int:
    """Empty the stored CSV files that contain the email, and their checks (their import
    results stay). Each file is read as the import reads it (UTF-16, Latin-1, a mix of
    lines: csplatform.imports.decode), so an email with accents or in a UTF-16 file is
    found too; a file not yet imported is then no longer importable, one queued for a
    worker included. The files are locked first: an import running meanwhile holds its
    upload's lock until it commits, so the erasure waits for it and then erases what it
    brought (contact_erase calls this before reading the contacts)."""
    pending = (
        ImportUpload.objects.select_for_update()
        .filter(status__in=[ImportStatus.CHECKING, ImportStatus.CHECKED, ImportStatus.IMPORTING])
        .values_list("pk", "content")
    )
    found = [
        pk
        for pk, content in pending.iterator(chunk_size=1)  # one file in memory at a time
        if email in decode(bytes(content), strict=False).lower()
    ]
    return ImportUpload.objects.filter(pk__in=found).update(
        status=ImportStatus.EXPIRED, content=b"", check_outcome={}
    )


def email_is_a_members(email: str) -> bool:
    """Whether a member of the current organization signs in with `email`."""
    # Membership is the tenancy's own table (not tenant-owned): filtered here by hand.
    return Membership.objects.filter(
        organization=current_organization(), user__email__iexact=normalize_email(email)
    ).exists()


@transaction.atomic
def contact_erase(
    contact: Contact,
    *,
    actor: User | None,
    channel: str = ErasureChannel.WEB,
    requested_by: ApiKey | None = None,
    operator: str = "",
) -> ErasureResult:
    """Erase a person from the current organization, in one transaction.

    The person is the contact's email: every contact with it (at any account) goes.
    Removed: the contact rows, their survey invitations and the scanner-detection
    attempts, their per-day usage counts; their survey comments (and comment
    history), the notes of touchpoints with them; and every mention of the email or
    full name in any text or JSON column (notes, task reasons, event properties,
    custom attributes…), replaced by "[erased]"; stored CSV uploads containing the
    email are emptied.
    Kept, naming no one: their responses' scores (survey kind, date, account and
    survey touchpoint, no contact, no invitation, no comment), their touchpoints
    (type, date, sentiment) and usage events (no contact), so satisfaction, health
    and engagement keep their inputs. A ContactErasure per contact records the erasure,
    with a hash of the email only when the contact had opted out.

    Never rewritten: keys (columns of a unique index: an account's external id, an
    invited member's email…) and the audit log. When the email is also a member's, the
    member's identity (membership, invitations, their entries in the audit log) is
    kept, and the result says so. The audit entry records who asked: `actor` (a
    person), or `requested_by` (the API key of an API call), or `operator` (who ran
    the command and on whose request: `erase_contact --requested-by`).
    """
    email = normalize_email(contact.email)
    # Uploads first: waits for an import of one of them that is running (see there).
    uploads_emptied = _forget_uploads(email)
    contacts = list(Contact.objects.select_for_update().filter(email__iexact=email))
    if not contacts:  # erased meanwhile, by another request
        erasure = ContactErasure.objects.get(former_contact_id=contact.pk)
        return ErasureResult(erasures=[erasure], removed=erasure.removed, already_erased=True)
    ids = [c.pk for c in contacts]
    names = erasable_names(contacts)

    removed: dict[str, int] = {"contacts": len(ids)}
    # Each app erases its own rows first (surveys: responses anonymized, invitations and
    # answer attempts deleted; journeys: touchpoints anonymized): deleting the contacts
    # would cascade to their invitations, and so to the responses that are kept.
    removed |= _ask_apps(contact_erasing, contact_ids=ids, email=email, names=names)
    # The contact rows: Postgres deletes their per-day usage counts and unlinks their
    # usage events (ON DELETE CASCADE / SET NULL).
    Contact.objects.filter(pk__in=ids).delete()
    removed["texts_redacted"] = _redact_free_text(identifying_pattern(email, names))
    removed["uploads_emptied"] = uploads_emptied

    organization = current_organization()
    opted_out = [c.opted_out_at for c in contacts if c.opted_out_at is not None]
    now = timezone.now()
    erasures = ContactErasure.objects.bulk_create(
        ContactErasure(
            former_contact_id=c.pk,
            account_id=c.account_id,
            erased_at=now,
            erased_by=actor,
            channel=channel,
            opt_out_hash=opt_out_hash(organization.pk, email) if opted_out else "",
            opted_out_at=min(opted_out) if opted_out else None,
            removed=removed,
        )
        for c in contacts
    )
    member = email_is_a_members(email)
    details: dict[str, Any] = {"channel": channel, "removed": removed}
    if member:
        details["member_identity_kept"] = True
    if requested_by is not None:  # an API call has no person: the key that asked
        details["requested_by"] = {"name": requested_by.name, "prefix": requested_by.prefix}
    if operator:  # the command has no person either: the operator, as they said
        details["operator"] = operator
    # Names no one: the contact's id and counts only (the entry outlives the person).
    audit_record(
        AuditEvent.Action.CONTACT_ERASED, actor=actor, target=f"#{contact.pk}", details=details
    )
    return ErasureResult(erasures=erasures, removed=removed, member_identity_kept=member)


def contact_erasure_get(contact_id: int) -> ContactErasure | None:
    """The record of an erased contact of the current organization, if it was erased."""
    return ContactErasure.objects.filter(former_contact_id=contact_id).first()


def contact_erasure_list(limit: int = 20) -> list[ContactErasure]:
    """The current organization's latest erasures, newest first."""
    return list(
        ContactErasure.objects.select_related("account", "erased_by").order_by("-erased_at", "-pk")[
            :limit
        ]
    )


def contact_erasure_preview(contact: Contact) -> dict[str, Any]:
    """What erasing `contact` would touch: its contacts (same email) and their
    invitations and responses (counted by the surveys app), for the confirmation page."""
    contacts = list(
        Contact.objects.select_related("account")
        .filter(email__iexact=contact.email)
        .order_by("account__name")
    )
    ids = [c.pk for c in contacts]
    return {
        "contacts": contacts,
        "member_identity_kept": email_is_a_members(contact.email),
        **_ask_apps(contact_erasure_previewing, contact_ids=ids),
    }


def _ask_apps(hook: Signal, **kwargs: Any) -> dict[str, int]:
    """Send an erasure hook to the apps above accounts; their {kind: count} answers,
    merged in the order the apps connected (INSTALLED_APPS)."""
    counts: dict[str, int] = {}
    for receiver, answer in hook.send(sender=Contact, **kwargs):
        if not isinstance(answer, dict):  # a count left out would go unrecorded
            raise TypeError(f"{receiver!r} must return {{kind: count}}, not {answer!r}")
        counts |= answer
    return counts


# --- export --------------------------------------------------------------------------


type Progress = Callable[[str, int], None]


MEMBERS_FILE = "accounts/members.csv"


def _export_members(archive: zipfile.ZipFile, *, snapshot: bool) -> tuple[int, int]:
    """The organization's members: email, name, role, joined; never a password."""
    # Membership is the tenancy's own table (not tenant-owned): filtered here by hand.
    members = (
        Membership.objects.filter(organization=current_organization())
        .annotate(email=F("user__email"), full_name=F("user__full_name"))
        .order_by("pk")
        .values_list("email", "full_name", "role", "created_at")
    )
    sql, params = members.query.sql_with_params()
    columns = ["email", "full_name", "role", "created_at"]
    text = [True, True, True, False]
    return _copy_to(archive, MEMBERS_FILE, sql, params, columns, text, snapshot=snapshot)


def _is_text(field: Field[Any, Any]) -> bool:
    """Whether a spreadsheet reads the column as text (see NOT_TEXT_FIELDS)."""
    output = getattr(field, "output_field", None) or field  # a GeneratedField's type
    return output.get_internal_type() not in NOT_TEXT_FIELDS


def _copy_to(
    archive: zipfile.ZipFile,
    name: str,
    sql: str,
    params: Any,
    columns: list[str],
    text: list[bool],
    *,
    snapshot: bool,
) -> tuple[int, int]:
    """Write the rows of `sql` twice into the archive, each straight from a COPY: `name`
    (a CSV with a header, every non-NULL value quoted, every `text` cell made safe for a
    spreadsheet in SQL: csplatform.spreadsheet.spreadsheet_cell_sql), and beside it
    `<name>.jsonl` (each row as Postgres' JSON of it: the raw values, typed). Neither
    passes through Python cell by cell, nor sits in memory. Returns the rows of each.

    Two COPYs see the same rows only in one snapshot (`snapshot`: a repeatable-read
    transaction, as the command's). Otherwise (the web download, read committed) the
    rows are first kept in a temporary table, and both files read it."""
    qn = connection.ops.quote_name
    # The subquery's columns by position, named as the header says.
    rows = f"({sql}) AS t ({', '.join(map(qn, columns))})"
    as_json, order = "to_json(t)::text", ""
    if not snapshot:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {EXPORT_ROWS} ON COMMIT DROP AS "  # noqa: S608 # nosec B608
                f"SELECT row_number() OVER () AS {EXPORT_ROW}, {as_json} AS {EXPORT_JSON}, t.* "
                f"FROM {rows}",
                params,
            )
        rows, params = f"{EXPORT_ROWS} AS t", None
        as_json, order = f"t.{EXPORT_JSON}", f" ORDER BY t.{EXPORT_ROW}"
    cells = ", ".join(
        f"{spreadsheet_cell_sql(f't.{qn(column)}::text')} AS {qn(column)}"
        if is_text
        else f"t.{qn(column)}"
        for column, is_text in zip(columns, text, strict=True)
    )
    with archive.open(name, "w", force_zip64=True) as entry:
        count = copy_out(
            f"SELECT {cells} FROM {rows}{order}",  # noqa: S608 # nosec B608
            params,
            entry.write,
            quote_all=True,
        )
    with archive.open(jsonl_name(name), "w", force_zip64=True) as entry:
        lines = copy_out_lines(f"SELECT {as_json} FROM {rows}{order}", params, entry.write)  # noqa: S608 # nosec B608
    if not snapshot:  # (a failure rolls back, and the table goes with the transaction)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {EXPORT_ROWS}")
    return count, lines


# The web download's rows of one table while both its files are written: its order and
# each row's JSON (computed before the order and JSON columns join it).
EXPORT_ROWS = "csplatform_export_rows"
EXPORT_ROW, EXPORT_JSON = "csplatform_export_row", "csplatform_export_json"


def jsonl_name(csv_name: str) -> str:
    """The JSON Lines file beside an export's CSV: accounts/account.csv → .jsonl."""
    return csv_name.removesuffix(".csv") + ".jsonl"


def export_excluded_columns() -> dict[type[Model], set[str]]:
    """EXPORT_EXCLUDED_COLUMNS, and every secret stored encrypted (a connector's key or
    signing secret, csplatform.crypto): the export is not a way to carry them out."""
    excluded = {model: set(columns) for model, columns in EXPORT_EXCLUDED_COLUMNS.items()}
    for model, columns in encrypted_fields():
        excluded.setdefault(model, set()).update(columns)
    return excluded


def export_tables() -> list[tuple[str, type[Model], list[str]]]:
    """(file name, model, columns) of every tenant-owned table the export writes."""
    tables: list[tuple[str, type[Model], list[str]]] = []
    all_excluded = export_excluded_columns()
    for model in sorted(tenant_models(), key=lambda m: m._meta.label):
        excluded = all_excluded.get(model, set())
        columns = [
            f.attname
            for f in model._meta.concrete_fields
            if f.attname not in excluded and f.name not in excluded
        ]
        tables.append((f"{model._meta.app_label}/{model._meta.model_name}.csv", model, columns))
    return tables


def organization_export(
    output: IO[bytes], *, actor: User | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the current organization's data to `output` as a ZIP; returns the manifest.

    An export by `actor` (a member, from the page) is recorded in the audit log, in the
    caller's transaction. The operator's command passes no actor: it reads in a
    read-only snapshot, where nothing can be recorded.

    One UTF-8 CSV per tenant-owned table (`<app>/<model>.csv`, the model's columns
    as header, rows in id order, text cells safe to open in a spreadsheet) and beside
    it the same rows raw as JSON Lines (`<app>/<model>.jsonl`), read through the
    tenant-scoped managers (and RLS), plus `accounts/members.csv` (and .jsonl) and
    `manifest.json` (organization, schema version, files and their row counts).
    Leaves out API key hashes and uploaded files; password hashes are never read.
    Each table streams with COPY, so a table of millions of usage events never sits
    in memory.
    """
    organization = current_organization()
    files: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        (isolation,) = cursor.fetchone() or ("read committed",)
    snapshot = isolation in ("repeatable read", "serializable")
    with zipfile.ZipFile(
        output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=EXPORT_COMPRESSLEVEL
    ) as archive:
        for name, model, columns in export_tables():
            queryset = model.objects.order_by("pk").values_list(*columns)  # type: ignore[attr-defined]
            sql, params = queryset.query.sql_with_params()
            fields = {f.attname: f for f in model._meta.concrete_fields}
            text = [_is_text(fields[column]) for column in columns]
            files[name], files[jsonl_name(name)] = _copy_to(
                archive, name, sql, params, columns, text, snapshot=snapshot
            )
            if progress:
                progress(name, files[name])
        files[MEMBERS_FILE], files[jsonl_name(MEMBERS_FILE)] = _export_members(
            archive, snapshot=snapshot
        )
        if progress:
            progress(MEMBERS_FILE, files[MEMBERS_FILE])
        manifest = {
            "schema_version": EXPORT_SCHEMA_VERSION,
            "exported_at": timezone.now().isoformat(),
            "organization": {
                "slug": organization.slug,
                "name": organization.name,
                "currency": organization.currency,
                "time_zone": organization.time_zone,
                "default_locale": organization.default_locale,
                "usage_event_retention_days": organization.usage_event_retention_days,
            },
            "migrations": _latest_migrations(),
            "encoding": "UTF-8",
            "format": (
                "CSV (RFC 4180, LF line ends), header row; times in UTC; empty field = "
                "NULL; a text cell that would start a formula (= + - @, tab, CR) starts with an "
                "apostrophe. Beside each CSV, the same rows raw as JSON Lines (.jsonl)."
            ),
            "excluded": sorted(
                f"{model._meta.app_label}/{model._meta.model_name}.{column}"
                for model, columns in export_excluded_columns().items()
                for column in columns
            ),
            "files": files,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    if actor is not None:
        audit_record(
            AuditEvent.Action.ORGANIZATION_EXPORTED,
            actor=actor,
            target=organization.slug,
            details={"files": len(files)},
        )
    return manifest


def _latest_migrations() -> dict[str, str]:
    """The last migration applied per app: what the CSV columns correspond to."""
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.order_by("app", "name").values_list(
        "app", "name"
    ):
        latest[app] = name
    return latest
