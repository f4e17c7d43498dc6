"""CSV import of accounts, contacts and subscriptions (registered in AccountsConfig.ready),
and the import page's services: upload and check once (a dry run, stored), preview
(the stored check), confirm (a big file imported by a worker), and the purge of
uploads never confirmed."""

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import customers, fx
from accounts.audit import audit_import
from accounts.models import ImportStatus, ImportUpload, User
from accounts.tenancy import current_organization
from csplatform.batches import WriteResult
from csplatform.imports import (
    Column,
    ImportKind,
    ImportRejected,
    choice,
    date_value,
    email,
    import_file,
    money_cents,
    records,
    register,
    text,
)
from csplatform.tasks import enqueue_on_commit
from csplatform.texts import Phrase, phrase_json, phrase_render

logger = logging.getLogger(__name__)

LOCALES = {
    "en": "en",
    "en-us": "en",
    "en_us": "en",
    "pt-br": "pt-br",
    "pt_br": "pt-br",
    "pt": "pt-br",
}
INTERVALS = {
    "month": "month",
    "monthly": "month",
    "mensal": "month",
    "mês": "month",
    "quarter": "quarter",
    "quarterly": "quarter",
    "trimestral": "quarter",
    "year": "year",
    "yearly": "year",
    "annual": "year",
    "anual": "year",
    "ano": "year",
}


def currency(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, Phrase]:
    values = raw.str.upper()
    expected = Phrase(gettext_noop("a currency code such as BRL"))
    return values, ~values.str.fullmatch(r"[A-Z]{3}"), expected


def write_accounts(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    rows = records(typed)
    for row, (_index, attributes) in zip(rows, extra.iterrows(), strict=True):
        custom = {key: value for key, value in attributes.items() if value != ""}
        if custom:
            row["custom_attributes"] = custom
    return customers.accounts_upsert(rows, dry_run=dry_run)


def write_contacts(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    return customers.contacts_upsert(records(typed), dry_run=dry_run)


def write_subscriptions(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    rows = [
        {**row, "amount_cents": row.pop("amount"), "ended_on": row.get("ended_on")}
        for row in records(typed)
    ]
    return customers.subscriptions_upsert(rows, dry_run=dry_run)


def register_imports() -> None:
    register(
        ImportKind(
            name="accounts",
            label=Phrase(gettext_noop("accounts")),
            columns=[
                Column("external_id", text()),
                Column("name", text()),
                Column("segment", text(100), required=False),
                Column("owner_email", email, required=False),
                Column("signup_date", date_value, required=False),
                Column("lifecycle_stage", text(50), required=False),
            ],
            write=write_accounts,
            extra_columns_kept=True,
        )
    )
    register(
        ImportKind(
            name="contacts",
            label=Phrase(gettext_noop("contacts")),
            columns=[
                Column("account_external_id", text()),
                Column("email", email),
                Column("name", text(), required=False),
                Column("locale", choice(LOCALES), required=False),
                Column("role", text(100), required=False),
            ],
            write=write_contacts,
        )
    )
    register(
        ImportKind(
            name="subscriptions",
            label=Phrase(gettext_noop("subscriptions")),
            columns=[
                Column("external_id", text()),
                Column("account_external_id", text()),
                Column("plan", text(200)),
                Column("amount", money_cents),
                Column("currency", currency),
                Column("billing_interval", choice(INTERVALS)),
                Column("started_on", date_value),
                Column("ended_on", date_value, required=False),
            ],
            write=write_subscriptions,
            field_to_column={"amount_cents": "amount"},
        )
    )
    register(
        ImportKind(
            name="exchange_rates",
            label=Phrase(gettext_noop("exchange rates")),
            # The plain file's columns; the ECB's eurofxref-hist.csv is read as published.
            columns=fx.PLAIN_COLUMNS,
            write=fx.write_exchange_rates,
            read=fx.fx_rates_read,
        )
    )


# --- the import page -------------------------------------------------------------

# The errors a check keeps and the page lists; the rest are counted. A file with a
# million bad rows would otherwise make a page of a million rows.
MAX_ERRORS_SHOWN = 200
# An upload not imported within this long is emptied (import_uploads_purge_unconfirmed).
UNCONFIRMED_UPLOAD_LIFETIME = timedelta(days=1)


def import_upload_create(
    *, kind: str, filename: str, content: bytes, uploaded_by: User
) -> ImportUpload:
    """Keep an uploaded CSV file of `kind` in the current organization until it is
    confirmed (the file name is cut to 255 characters), and check it once: now, in
    this request, when it has at most IMPORT_INLINE_CHECK_BYTES bytes, else by a worker
    (accounts.tasks.check_import_upload) queued when this transaction commits."""
    upload = ImportUpload.objects.create(
        kind=kind, filename=filename[:255], content=content, uploaded_by=uploaded_by
    )
    if len(content) <= settings.IMPORT_INLINE_CHECK_BYTES:
        import_upload_check(upload)
    else:
        from accounts.tasks import check_import_upload

        enqueue_on_commit(check_import_upload, current_organization().pk, upload.pk)
    return upload


def import_upload_check(
    upload: ImportUpload, *, progress: Callable[[Phrase], None] = lambda message: None
) -> None:
    """Check `upload` (a dry run against the database: nothing is written, no id is
    taken) and store the outcome on it, for every view of the preview to show.

    The outcome's errors and warnings are stored as phrases (csplatform.texts), not
    sentences: `import_upload_outcome` renders them in the reader's language."""
    upload.check_outcome = _import_upload_run(upload, dry_run=True, progress=progress)
    upload.status = ImportStatus.CHECKED
    upload.checked_at = timezone.now()
    upload.save(update_fields=["check_outcome", "status", "checked_at"])


def import_upload_check_queued(upload_id: int) -> bool:
    """The worker's check of a big upload, telling each step to the page through the
    cache (as phrases: the page renders them in its reader's language). False when there
    was nothing to do: checked already (a task run twice) or gone."""
    upload = (
        ImportUpload.objects.select_for_update()
        .filter(pk=upload_id, status=ImportStatus.CHECKING)
        .first()
    )
    if upload is None:
        return False
    import_upload_check(upload, progress=partial(_progress_tell, upload.pk))
    return True


def _progress_key(upload_id: int) -> str:
    """The cache key of the step a worker is at, checking or importing the upload."""
    return f"import-check:{current_organization().pk}:{upload_id}"


def _progress_read(upload: ImportUpload) -> str:
    try:
        progress = cache.get(_progress_key(upload.pk))
    except Exception:
        progress = None
    return phrase_render(progress) if progress else _("Waiting for a worker…")


def _progress_tell(upload_id: int, message: Phrase | str) -> None:
    try:
        cache.set(_progress_key(upload_id), phrase_json(message), timeout=3600)
    except Exception:  # the page only waits longer without it
        logger.warning("cache unavailable: import check progress not shown", exc_info=True)


def import_upload_outcome(upload: ImportUpload) -> dict[str, Any]:
    """What the preview page shows of `upload`, from its stored check (never running it),
    its errors, warnings and progress rendered in the active language:

    - `checking` or `importing` (True while a worker checks or imports it) and `progress`
      (the step it is at);
    - `imported` (True once imported) with `rows` and `result` (created, updated,
      unchanged);
    - `expired` (True once emptied: not imported within a day, or naming an erased person);
    - else the check: `errors` (at most MAX_ERRORS_SHOWN, each with line, column and
      message), `error_count` and `errors_not_shown`, and `warnings`; when there is no
      error, `rows`, `result` (created, updated, unchanged), `columns` and `preview` (the
      first 20 rows, as lists of cells), and `import_failed` (True when a worker's import
      of it failed, writing nothing: it can be confirmed again).
    """
    if upload.status == ImportStatus.CHECKING:
        return {"checking": True, "progress": _progress_read(upload)}
    if upload.status == ImportStatus.IMPORTING:
        return {"importing": True, "progress": _progress_read(upload)}
    if upload.status == ImportStatus.IMPORTED:
        return {"imported": True, "rows": upload.rows, "result": upload.result}
    if upload.status == ImportStatus.EXPIRED:
        return {"expired": True}
    return _outcome_rendered(upload.check_outcome)


def _outcome_rendered(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored outcome with its phrases rendered in the active language (a sentence
    stored before phrases were is shown as it is)."""
    outcome = dict(stored)
    outcome["warnings"] = [phrase_render(w) for w in stored.get("warnings", [])]
    if stored.get("errors"):
        outcome["errors"] = [
            {**error, "message": phrase_render(error["message"])} for error in stored["errors"]
        ]
        outcome["errors_not_shown"] = outcome["error_count"] - len(outcome["errors"])
    return outcome


def _import_upload_run(
    upload: ImportUpload,
    *,
    dry_run: bool,
    progress: Callable[[Phrase], None] = lambda message: None,
) -> dict[str, Any]:
    """The import's outcome, ready to store (JSON, its messages as phrases): counts,
    warnings, preview rows, or the first errors and how many there were."""
    try:
        report = import_file(
            upload.kind,
            bytes(upload.content),
            context={"time_zone": current_organization().time_zone},
            dry_run=dry_run,
            progress=progress,
        )
    except ImportRejected as rejected:
        return {
            "errors": [
                {"line": e.line, "column": e.column, "message": phrase_json(e.message)}
                for e in rejected.errors[:MAX_ERRORS_SHOWN]
            ],
            "error_count": len(rejected.errors),
            "warnings": [phrase_json(w) for w in rejected.warnings],
        }
    return {
        "rows": report.rows,
        "result": {
            "created": report.result.created,
            "updated": report.result.updated,
            "unchanged": report.result.unchanged,
        },
        "warnings": [phrase_json(w) for w in report.warnings],
        "columns": list(report.preview[0]) if report.preview else [],
        "preview": [[str(value) for value in row.values()] for row in report.preview],
    }


@transaction.atomic
def import_upload_confirm(*, upload: ImportUpload, actor: User | None) -> dict[str, Any] | None:
    """Import a checked `upload` for real, all rows or none, and record it (or its
    refusal) in the audit log in the same transaction: now, in this request, when it
    has at most IMPORT_INLINE_CHECK_BYTES bytes, else by a worker
    (accounts.tasks.import_upload) queued when this transaction commits.

    Returns the outcome as `import_upload_outcome` describes it (`importing` for a
    queued one); None when there is nothing to import: imported or being imported
    already (by another request: the row is locked first, so a second click queues
    nothing), emptied, or still being checked. A file whose check found problems is not
    run again. An imported upload keeps its counts, not its content: the data now lives
    in its tables.
    """
    upload = ImportUpload.objects.select_for_update().defer("content").get(pk=upload.pk)
    if upload.status != ImportStatus.CHECKED:
        return None
    if upload.check_outcome.get("errors"):
        return import_upload_outcome(upload)
    size = ImportUpload.objects.filter(pk=upload.pk).values_list(Length("content"), flat=True).get()
    if size > settings.IMPORT_INLINE_CHECK_BYTES:
        from accounts.tasks import import_upload

        upload.status = ImportStatus.IMPORTING
        upload.check_outcome = {
            k: v for k, v in upload.check_outcome.items() if k != "import_failed"
        }
        upload.save(update_fields=["status", "check_outcome"])
        enqueue_on_commit(import_upload, current_organization().pk, upload.pk, actor and actor.pk)
        return import_upload_outcome(upload)
    return _import_upload_write(upload, actor=actor)


def import_upload_queued(upload_id: int, actor_id: int | None) -> bool:
    """The worker's import of a big confirmed upload, for `actor_id` (who confirmed it),
    telling each step to the page through the cache. True when it ran (imported, or
    refused because the data changed since the check); False when there was nothing to
    do (imported already: a task run twice; or gone), or when it failed: the failure is
    logged, nothing is written, and the upload is checked again with `import_failed`,
    for its page to say so and offer the import again."""
    upload = (
        ImportUpload.objects.select_for_update()
        .filter(pk=upload_id, status=ImportStatus.IMPORTING)
        .first()
    )
    if upload is None:
        return False
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        with transaction.atomic():
            _import_upload_write(upload, actor=actor, progress=partial(_progress_tell, upload.pk))
    except Exception:
        logger.exception("The import of CSV upload %s failed; nothing was written.", upload.pk)
        upload.refresh_from_db(fields=["check_outcome"])
        upload.status = ImportStatus.CHECKED
        upload.check_outcome = {**upload.check_outcome, "import_failed": True}
        upload.save(update_fields=["status", "check_outcome"])
        return False
    return True


def _import_upload_write(
    upload: ImportUpload,
    *,
    actor: User | None,
    progress: Callable[[Phrase], None] = lambda message: None,
) -> dict[str, Any]:
    """Import `upload` (locked, checked or being imported) for real and record it; the
    outcome as `import_upload_outcome` describes it."""
    outcome = _import_upload_run(upload, dry_run=False, progress=progress)
    if "errors" in outcome:  # the data changed since the check
        upload.status = ImportStatus.CHECKED
        upload.check_outcome = outcome
        upload.checked_at = timezone.now()
        upload.save(update_fields=["status", "check_outcome", "checked_at"])
        audit_import(
            actor=actor,
            kind=upload.kind,
            filename=upload.filename,
            source="page",
            problems=outcome["error_count"],
        )
        return import_upload_outcome(upload)
    upload.status = ImportStatus.IMPORTED
    upload.imported_at = timezone.now()
    upload.rows = int(outcome["rows"])
    upload.result = outcome["result"]
    upload.content = b""
    upload.check_outcome = {}
    upload.save(
        update_fields=["status", "imported_at", "rows", "result", "content", "check_outcome"]
    )
    audit_import(
        actor=actor,
        kind=upload.kind,
        filename=upload.filename,
        source="page",
        rows=upload.rows,
        result=upload.result,
    )
    return import_upload_outcome(upload)


def import_uploads_purge_unconfirmed() -> int:
    """Empty the current organization's uploads not imported within
    UNCONFIRMED_UPLOAD_LIFETIME of their upload: their content and their check (which
    quotes it) hold customer data that no one asked to keep. Returns how many.

    One still "being imported" a day after its upload is one whose worker never
    finished (killed until the outbox gave it up): emptied too. One whose import is
    running now is not: the update waits for the import's lock, and skips the row once
    it is imported."""
    return ImportUpload.objects.filter(
        status__in=[ImportStatus.CHECKING, ImportStatus.CHECKED, ImportStatus.IMPORTING],
        created_at__lt=timezone.now() - UNCONFIRMED_UPLOAD_LIFETIME,
    ).update(status=ImportStatus.EXPIRED, content=b"", check_outcome={})
