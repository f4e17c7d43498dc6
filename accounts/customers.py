"""Writes of customer data (accounts, contacts, subscriptions, notes), in batches.

The REST API and CSV import both call these with rows of typed values
(dates as `date`, money as integer cents). Each function validates the whole
batch against the database in a few set-based queries, raises RowsRejected
listing every bad row, or writes everything. Writing the same rows again
changes nothing: keys are external ids (contacts: account and email).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts import fx
from accounts.models import (
    Account,
    BillingInterval,
    Contact,
    Membership,
    Subscription,
    User,
    normalize_email,
)
from accounts.signals import revenue_changed
from accounts.tenancy import current_organization
from csplatform import bounds
from csplatform.batches import (
    RowError,
    RowsRejected,
    WriteResult,
    duplicate_key_errors,
    once_more_on_conflict,
)
from csplatform.clock import database_now
from csplatform.texts import Phrase

Row = Mapping[str, Any]

ACCOUNT_FIELDS = ["name", "segment", "signup_date", "lifecycle_stage"]


def _owners_by_email(emails: set[str]) -> dict[str, User]:
    """The organization's members among `emails`, by normalized email."""
    if not emails:
        return {}
    memberships = Membership.objects.filter(
        organization=current_organization(),  # Membership: the tenancy's own table
        user__email__in=emails,
    ).select_related("user")
    return {m.user.email: m.user for m in memberships}


def accounts_by_external_id(external_ids: set[str]) -> dict[str, Account]:
    return {a.external_id: a for a in Account.objects.filter(external_id__in=external_ids)}


def _unknown_account_errors(
    rows: Sequence[Row], accounts: dict[str, Account], field: str = "account_external_id"
) -> list[RowError]:
    return [
        RowError(
            index,
            field,
            Phrase(
                gettext_noop(
                    "No account has the external id %(id)s: import or create the account first."
                ),
                {"id": row[field]},
            ),
        )
        for index, row in enumerate(rows)
        if row[field] not in accounts
    ]


@once_more_on_conflict
def accounts_upsert(rows: Sequence[Row], *, dry_run: bool = False) -> WriteResult:
    """Create or update accounts by `external_id`; keys absent from a row are left as they are.

    `owner_email` must be a member of the organization; `signup_date` within the
    accepted range (csplatform.bounds); unknown keys in `custom_attributes` are merged
    into the account's, and the merged object must stay within the bounds. `dry_run`:
    validate and count, write nothing (no id is taken from the sequence).
    """
    errors = duplicate_key_errors(
        [r["external_id"] for r in rows], "external_id", Phrase(gettext_noop("Account"))
    )
    owner_emails = {normalize_email(r["owner_email"]) for r in rows if r.get("owner_email")}
    owners = _owners_by_email(owner_emails)
    for index, row in enumerate(rows):
        if row.get("owner_email") and normalize_email(row["owner_email"]) not in owners:
            errors.append(
                RowError(
                    index,
                    "owner_email",
                    Phrase(
                        gettext_noop(
                            "%(email)s is not a member of this organization: invite them first."
                        ),
                        {"email": row["owner_email"]},
                    ),
                )
            )
    if errors:
        raise RowsRejected(errors)

    existing = accounts_by_external_id({r["external_id"] for r in rows})
    result = WriteResult()
    to_create: list[Account] = []
    to_update: list[Account] = []
    for index, row in enumerate(rows):
        account = existing.get(row["external_id"]) or Account(external_id=row["external_id"])
        before = _account_state(account)
        signup = row.get("signup_date")
        # Within the bounds, unless recorded so already (perhaps before the bounds): a
        # sync that sends the account as it is must not be refused.
        if (
            signup is not None
            and signup != account.signup_date
            and (message := bounds.day_error(signup))
        ):
            errors.append(RowError(index, "signup_date", message))
        for field in ACCOUNT_FIELDS:
            if field in row and row[field] is not None:
                setattr(account, field, row[field])
        if "owner_email" in row:
            account.owner = owners.get(normalize_email(row["owner_email"] or "")) or None
        if row.get("custom_attributes"):
            account.custom_attributes = {**account.custom_attributes, **row["custom_attributes"]}
            # Merged, as stored: small additions must not add up to a huge object.
            if message := bounds.attributes_error(account.custom_attributes):
                errors.append(RowError(index, "custom_attributes", message))
        if account.pk is None:
            to_create.append(account)
        elif _account_state(account) != before:
            account.updated_at = timezone.now()  # bulk_update skips auto_now
            to_update.append(account)
        else:
            result.unchanged += 1
    if errors:
        raise RowsRejected(errors)
    result.created, result.updated = len(to_create), len(to_update)
    if dry_run:
        return result
    with database_now():  # the stage history's trigger stamps Django's now
        Account.objects.bulk_create(to_create)
        Account.objects.bulk_update(
            to_update, [*ACCOUNT_FIELDS, "owner", "custom_attributes", "updated_at"]
        )
    return result


def _account_state(account: Account) -> tuple[Any, ...]:
    return (
        *(getattr(account, f) for f in ACCOUNT_FIELDS),
        account.owner_id,
        account.custom_attributes,
    )


CONTACT_FIELDS = ["name", "locale", "role"]


@once_more_on_conflict
def contacts_upsert(rows: Sequence[Row], *, dry_run: bool = False) -> WriteResult:
    """Create or update contacts, keyed by (`account_external_id`, `email`). `dry_run`:
    validate and count, write nothing."""
    keys = [(r["account_external_id"], normalize_email(r["email"])) for r in rows]
    errors = duplicate_key_errors(keys, "email", Phrase(gettext_noop("Contact")))
    accounts = accounts_by_external_id({r["account_external_id"] for r in rows})
    errors += _unknown_account_errors(rows, accounts)
    if errors:
        raise RowsRejected(errors)

    existing = {
        (c.account_id, c.email): c
        for c in Contact.objects.filter(
            account__in=accounts.values(), email__in={email for _, email in keys}
        )
    }
    result = WriteResult()
    to_create: list[Contact] = []
    to_update: list[Contact] = []
    for row, (account_external_id, email) in zip(rows, keys, strict=True):
        account = accounts[account_external_id]
        contact = existing.get((account.pk, email)) or Contact(account=account, email=email)
        before = tuple(getattr(contact, f) for f in CONTACT_FIELDS)
        for field in CONTACT_FIELDS:
            if field in row and row[field] is not None:
                setattr(contact, field, row[field])
        if contact.pk is None:
            to_create.append(contact)
        elif tuple(getattr(contact, f) for f in CONTACT_FIELDS) != before:
            contact.updated_at = timezone.now()
            to_update.append(contact)
        else:
            result.unchanged += 1
    result.created, result.updated = len(to_create), len(to_update)
    if dry_run:
        return result
    Contact.objects.bulk_create(to_create)
    Contact.objects.bulk_update(to_update, [*CONTACT_FIELDS, "updated_at"])
    return result


IMMUTABLE_SUBSCRIPTION_FIELDS = [
    "plan",
    "amount_cents",
    "currency",
    "billing_interval",
    "started_on",
]


@once_more_on_conflict
def subscriptions_upsert(
    rows: Sequence[Row], *, dry_run: bool = False, unrated_allowed: bool = False
) -> WriteResult:
    """Record subscriptions by `external_id`. History is never overwritten.

    A known subscription may only gain (or keep) its `ended_on`; any other
    change is refused: end it and start a new one with another external id. Both
    dates must be within the accepted range (csplatform.bounds). `dry_run`: validate
    and count, write nothing. A new subscription in a currency without an exchange rate
    by its start day is refused, unless `unrated_allowed` (a billing connector's sync:
    what Stripe billed happened, so it is written without a rate, left out of the
    figures and named on the missing-rates notice until the rates are imported).
    """
    organization = current_organization()
    errors = duplicate_key_errors(
        [r["external_id"] for r in rows], "external_id", Phrase(gettext_noop("Subscription"))
    )
    accounts = accounts_by_external_id({r["account_external_id"] for r in rows})
    errors += _unknown_account_errors(rows, accounts)
    existing = {
        s.external_id: s
        for s in Subscription.objects.select_related("account").filter(
            external_id__in={r["external_id"] for r in rows}
        )
    }
    if not unrated_allowed:
        errors += _unrated_currency_errors(rows, existing, organization.currency)
    for index, row in enumerate(rows):
        known = existing.get(row["external_id"])
        errors += _subscription_row_errors(index, row, known)
        if known is None:
            continue
        changed = [f for f in IMMUTABLE_SUBSCRIPTION_FIELDS if getattr(known, f) != row[f]]
        if known.account.external_id != row["account_external_id"]:
            changed.append("account_external_id")
        if known.ended_on is not None and row.get("ended_on") not in (None, known.ended_on):
            changed.append("ended_on")
        if "ended_on" in changed:
            changed.remove("ended_on")
            errors.append(
                RowError(
                    index,
                    "ended_on",
                    Phrase(
                        gettext_noop(
                            "Subscription %(id)s already ended on %(date)s; history is never "
                            "overwritten."
                        ),
                        {"id": row["external_id"], "date": known.ended_on.isoformat()},
                    ),
                )
            )
        for field in changed:
            errors.append(
                RowError(
                    index,
                    field,
                    Phrase(
                        gettext_noop(
                            "Subscription %(id)s is recorded with a different %(field)s; history "
                            "is never overwritten: end it (ended_on) and start a new "
                            "subscription with another external id."
                        ),
                        {"id": row["external_id"], "field": field},
                    ),
                )
            )
    if errors:
        raise RowsRejected(errors)

    result = WriteResult()
    to_create: list[Subscription] = []
    to_end: list[Subscription] = []
    for row in rows:
        known = existing.get(row["external_id"])
        if known is None:
            to_create.append(
                Subscription(
                    external_id=row["external_id"],
                    account=accounts[row["account_external_id"]],
                    **{f: row[f] for f in IMMUTABLE_SUBSCRIPTION_FIELDS},
                    ended_on=row.get("ended_on"),
                )
            )
        elif known.ended_on is None and row.get("ended_on") is not None:
            known.ended_on = row["ended_on"]
            to_end.append(known)
        else:
            result.unchanged += 1
    result.created, result.updated = len(to_create), len(to_end)
    if dry_run:
        return result
    with transaction.atomic():  # the lock lasts to the end of the caller's transaction
        if to_create:
            # A rate import running meanwhile commits before this insert reads the rates,
            # or waits until it commits (fx.rates_lock).
            fx.rates_lock(shared=True)
        Subscription.objects.bulk_create(to_create)
        Subscription.objects.bulk_update(to_end, ["ended_on"])
    # Each new row's exchange rate is set on insert (csp_fx_rate, by a trigger), from its
    # start day (docs/metrics.md#currencies).
    changed_from = [s.started_on for s in to_create] + [s.ended_on for s in to_end if s.ended_on]
    if changed_from:
        revenue_changed.send(
            sender=Subscription,
            since=min(changed_from),
            accounts=sorted({s.account_id for s in [*to_create, *to_end]}),
        )
    return result


def _unrated_currency_errors(
    rows: Sequence[Row], existing: Mapping[str, Subscription], reporting: str
) -> list[RowError]:
    """A new subscription in a currency with no exchange rate on or before its start day
    cannot be reported (docs/metrics.md#currencies): refused, naming the currency and
    the day, rather than counted at 1:1 or left out. One query for the batch."""
    candidates = [
        (index, row)
        for index, row in enumerate(rows)
        if row["external_id"] not in existing
        and row["currency"] != reporting
        and row["currency"] in fx.ISO_4217
        and isinstance(row.get("started_on"), date)
    ]
    unrated = fx.unrated_positions([(row["currency"], row["started_on"]) for _, row in candidates])
    return [
        RowError(
            index,
            "currency",
            Phrase(
                gettext_noop(
                    "No exchange rate from %(given)s to %(currency)s (the reporting currency) "
                    "on or before %(day)s: import exchange rates first."
                ),
                {
                    "given": row["currency"],
                    "currency": reporting,
                    "day": row["started_on"].isoformat(),
                },
            ),
        )
        for position, (index, row) in enumerate(candidates)
        if position in unrated
    ]


def _subscription_row_errors(index: int, row: Row, known: Subscription | None) -> list[RowError]:
    errors = []
    if row["amount_cents"] < 0:
        errors.append(
            RowError(index, "amount", Phrase(gettext_noop("The amount cannot be negative.")))
        )
    if known is None and row["currency"] not in fx.ISO_4217:
        errors.append(
            RowError(
                index,
                "currency",
                Phrase(
                    gettext_noop("%(given)s is not an ISO 4217 currency code."),
                    {"given": row["currency"]},
                ),
            )
        )
    if row["billing_interval"] not in BillingInterval.values:
        errors.append(
            RowError(
                index,
                "billing_interval",
                Phrase(
                    gettext_noop("Use month, quarter or year, not %(value)s."),
                    {"value": row["billing_interval"]},
                ),
            )
        )
    ended_on: date | None = row.get("ended_on")
    for field in ("started_on", "ended_on"):
        value = row.get(field)
        if value is None or (known is not None and getattr(known, field) == value):
            continue  # as recorded (perhaps before the bounds): history is not judged again
        if message := bounds.day_error(value):
            errors.append(RowError(index, field, message))
    if ended_on is not None and ended_on < row["started_on"]:
        errors.append(
            RowError(
                index,
                "ended_on",
                Phrase(
                    gettext_noop("ended_on (%(end)s) is before started_on (%(start)s)."),
                    {"end": ended_on.isoformat(), "start": row["started_on"].isoformat()},
                ),
            )
        )
    return errors
