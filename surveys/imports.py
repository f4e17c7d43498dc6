"""The `responses` CSV import: survey responses given in another tool."""

from datetime import UTC

import pandas as pd
from django.utils.translation import gettext_noop

from csplatform.batches import WriteResult
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
from surveys import services

KINDS = {"nps": "nps", "csat": "csat", "ces": "ces"}
# Canonical names, and the Portuguese a Brazilian tool exports.
TOUCHPOINTS = {
    "support": "support",
    "suporte": "support",
    "atendimento": "support",
    "product": "product",
    "produto": "product",
    "post_sale": "post_sale",
    "post-sale": "post_sale",
    "pós-venda": "post_sale",
    "pos-venda": "post_sale",
    "company": "company",
    "empresa": "company",
}


def write_responses(typed: pd.DataFrame, extra: pd.DataFrame, dry_run: bool) -> WriteResult:
    rows = records(typed)
    for row in rows:
        row["responded_at"] = row["responded_at"].to_pydatetime().astimezone(UTC)
        row["score"] = float(row["score"])
    return services.responses_import(rows, dry_run=dry_run)


def register_imports() -> None:
    register(
        ImportKind(
            name="responses",
            label=Phrase(gettext_noop("survey responses")),
            columns=[
                Column("kind", choice(KINDS)),
                Column("account_external_id", text()),
                Column("contact_email", email, required=False),
                Column("score", decimal_number),
                Column("comment", text(services.COMMENT_MAX_LENGTH), required=False),
                Column("responded_at", datetime_value),
                Column("touchpoint", choice(TOUCHPOINTS), required=False),
            ],
            write=write_responses,
        )
    )
