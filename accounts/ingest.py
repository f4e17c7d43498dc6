"""Checks and keys shared by every batch of rows that names customer accounts.

The usage events and touchpoints of journeys and the survey responses of surveys
are written by different apps, but each row names an account (and maybe a contact)
by the tenant's own ids, needs an idempotency key, and carries an instant: the
helpers for those live here, below both, so neither app imports the other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.customers import accounts_by_external_id
from accounts.models import Account, Contact, normalize_email
from csplatform import bounds
from csplatform.batches import RowError
from csplatform.texts import Phrase

Row = Mapping[str, Any]
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = bounds.EARLIEST_INSTANT  # the accepted range's first instant
_NAMESPACE = uuid.UUID("6f1c5d8e-7a52-4c1b-9e0f-3b2a1c4d5e6f")


def dedupe_key(kind: str, row: Row, fields: Sequence[str]) -> uuid.UUID:
    """The row's idempotency key: from the sender's id if it gave one, else from its content."""
    if row.get("external_id"):
        return uuid.uuid5(_NAMESPACE, f"{kind}:id:{row['external_id']}")
    content = json.dumps([_canonical(row.get(f)) for f in fields], sort_keys=True, default=str)
    return uuid.uuid5(_NAMESPACE, f"{kind}:content:{content}")


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, str):
        return value.strip()
    return value


def account_reference_errors(
    rows: Sequence[Row], *, load_accounts: bool = True
) -> tuple[list[RowError], dict[str, Any]]:
    """Unknown accounts, and contacts unknown at their account; plus the accounts found
    (only their external ids, as keys, when `load_accounts` is off)."""
    wanted_accounts = {r["account_external_id"] for r in rows}
    if load_accounts:
        accounts: dict[str, Any] = accounts_by_external_id(wanted_accounts)
    else:
        accounts = dict.fromkeys(
            Account.objects.filter(external_id__in=wanted_accounts).values_list(
                "external_id", flat=True
            )
        )
    wanted = {
        (r["account_external_id"], normalize_email(r["contact_email"]))
        for r in rows
        if r.get("contact_email")
    }
    known_contacts = set()
    if wanted:
        known_contacts = set(
            Contact.objects.filter(
                account__external_id__in={a for a, _e in wanted},
                email__in={e for _a, e in wanted},
            ).values_list("account__external_id", "email")
        )
    errors = []
    for index, row in enumerate(rows):
        if row["account_external_id"] not in accounts:
            errors.append(
                RowError(
                    index,
                    "account_external_id",
                    Phrase(
                        gettext_noop(
                            "No account has the external id %(id)s: import or create the "
                            "account first."
                        ),
                        {"id": row["account_external_id"]},
                    ),
                )
            )
        elif (
            row.get("contact_email")
            and (
                row["account_external_id"],
                normalize_email(row["contact_email"]),
            )
            not in known_contacts
        ):
            errors.append(
                RowError(
                    index,
                    "contact_email",
                    Phrase(
                        gettext_noop(
                            "Account %(account)s has no contact %(email)s: import the contact "
                            "first."
                        ),
                        {"account": row["account_external_id"], "email": row["contact_email"]},
                    ),
                )
            )
    return errors, accounts


def instant_errors(rows: Sequence[Row], field: str = "occurred_at") -> list[RowError]:
    """Instants in the future (beyond clock skew) or before 2000: refused, with the row."""
    latest = timezone.now() + CLOCK_SKEW
    errors = []
    for index, row in enumerate(rows):
        when = row[field]
        if when > latest:
            message = gettext_noop(
                "%(when)s is in the future; only events that happened can be recorded."
            )
        elif when < EARLIEST:
            message = gettext_noop("%(when)s is before the year 2000: check the date.")
        else:
            continue
        errors.append(RowError(index, field, Phrase(message, {"when": when.isoformat()})))
    return errors
