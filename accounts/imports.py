"""CSV import of accounts, contacts and subscriptions (registered in AccountsConfig.ready),
and the import page's services: upload, preview (a dry run), confirm."""

from typing import Any

import pandas as pd
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import customers
from accounts.audit import audit_import
from accounts.models import ImportUpload, User
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


def currency(raw: pd.Series, context: dict[str, Any]) -> tuple[pd.Series, pd.Series, str]:
    values = raw.str.upper()
    return values, ~values.str.fullmatch(r"[A-Z]{3}"), _("a currency code such as BRL")


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
            label=gettext_lazy("accounts"),
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
            label=gettext_lazy("contacts"),
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
            label=gettext_lazy("subscriptions"),
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


# --- the import page -------------------------------------------------------------


def import_upload_create(
    *, kind: str, filename: str, content: bytes, uploaded_by: User
) -> ImportUpload:
    """Keep an uploaded CSV file of `kind` in the current organization until it is
    previewed and confirmed (the file name is cut to 255 characters)."""
    return ImportUpload.objects.create(
        kind=kind, filename=filename[:255], content=content, uploaded_by=uploaded_by
    )


def _import_upload_run(upload: ImportUpload, *, dry_run: bool) -> dict[str, Any]:
    """The import's outcome for the page: counts, warnings, preview rows, or every error."""
    try:
        report = import_file(
            upload.kind,
            bytes(upload.content),
            context={"time_zone": current_organization().time_zone},
            dry_run=dry_run,
        )
    except ImportRejected as rejected:
        return {"errors": rejected.errors, "warnings": rejected.warnings}
    return {
        "result": report.result,
        "warnings": report.warnings,
        "preview": report.preview,
        "columns": list(report.preview[0]) if report.preview else [],
        "rows": report.rows,
    }


def import_upload_preview(upload: ImportUpload) -> dict[str, Any]:
    """What importing `upload` would do, validated against the database and rolled
    back (a savepoint: nothing of it is kept): `errors` and `warnings` when the file
    would be refused, else `result` (counts), `warnings`, `preview` (the first 20
    rows), `columns` and `rows` (how many)."""
    return _import_upload_run(upload, dry_run=True)


@transaction.atomic
def import_upload_confirm(*, upload: ImportUpload, actor: User | None) -> dict[str, Any] | None:
    """Import `upload` for real, all rows or none, and record it (or its refusal) in the
    audit log in the same transaction.

    Returns the outcome as `import_upload_preview` describes it; None when the upload
    was imported already (by another request: the row is locked first). An imported
    upload keeps its counts, not its content: the data now lives in its tables.
    """
    upload = ImportUpload.objects.select_for_update().get(pk=upload.pk)
    if upload.imported_at:
        return None
    outcome = _import_upload_run(upload, dry_run=False)
    if "errors" in outcome:
        audit_import(
            actor=actor,
            kind=upload.kind,
            filename=upload.filename,
            source="page",
            problems=len(outcome["errors"]),
        )
        return outcome
    upload.imported_at = timezone.now()
    upload.rows = int(outcome["rows"])
    upload.result = outcome["result"].as_dict()
    upload.content = b""
    upload.save(update_fields=["imported_at", "rows", "result", "content"])
    audit_import(
        actor=actor,
        kind=upload.kind,
        filename=upload.filename,
        source="page",
        rows=upload.rows,
        result=upload.result,
    )
    return outcome
