"""CSV import of accounts, contacts and subscriptions (registered in AccountsConfig.ready)."""

from typing import Any

import pandas as pd
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import customers
from csplatform.batches import WriteResult
from csplatform.imports import (
    Column,
    ImportKind,
    choice,
    date_value,
    email,
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


def write_accounts(typed: pd.DataFrame, extra: pd.DataFrame) -> WriteResult:
    rows = records(typed)
    for row, (_index, attributes) in zip(rows, extra.iterrows(), strict=True):
        custom = {key: value for key, value in attributes.items() if value != ""}
        if custom:
            row["custom_attributes"] = custom
    return customers.accounts_upsert(rows)


def write_contacts(typed: pd.DataFrame, extra: pd.DataFrame) -> WriteResult:
    return customers.contacts_upsert(records(typed))


def write_subscriptions(typed: pd.DataFrame, extra: pd.DataFrame) -> WriteResult:
    rows = [
        {**row, "amount_cents": row.pop("amount"), "ended_on": row.get("ended_on")}
        for row in records(typed)
    ]
    return customers.subscriptions_upsert(rows)


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
