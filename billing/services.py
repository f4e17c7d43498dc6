"""The Stripe connection's writes (docs/integrations.md, Set-up): connect with a
restricted key, set the webhook signing secret, disconnect; the backfill's steps, a
webhook's event and the nightly reconciliation.

What a customer becomes in the organization's accounts and subscription history is
billing.stripe_sync's business (customer_sync: it re-reads the customer's current state
from Stripe and rebuilds its rows, so running it twice, or for events that arrived out
of order, gives the same rows).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.db import DataError, IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import AuditEvent, Organization, User
from accounts.tenancy import current_organization
from billing import stripe_sync
from billing.models import FailureReason, SkipReason, StripeConnection, StripeEvent
from billing.stripe_mapping import StripeShapeError
from csplatform.batches import RowsRejected
from csplatform.crypto import secret_decrypt, secret_encrypt
from csplatform.models import OutboxMessage
from csplatform.tasks import enqueue_on_commit, organization_lock

logger = logging.getLogger(__name__)

# Real restricted keys are rk_live_/rk_test_ + letters and digits; a secret key (sk_)
# works too (Stripe advises a restricted one: the page says so).
KEY_PATTERN = re.compile(r"^(?:rk|sk)_(?:live|test)_[0-9A-Za-z]{8,247}$")
SECRET_PATTERN = re.compile(r"^whsec_[0-9A-Za-z+/=_-]{8,247}$")
BACKFILL_PAGE = 100
LOCK = "billing.stripe"  # one Stripe call sequence per organization at a time
RECONCILE_PAGE = 100
SKIPPED_CUSTOMERS_MAX = 100  # the newest kept: enough for the page and for support


class StripeKeyRefusedError(Exception):
    """A key that cannot be used: `message` says why, for the page (never the key)."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def key_hint(key: str) -> str:
    """What the page shows of a key: its kind and its last four characters."""
    kind = key[: key.index("_", 3) + 1] if key.count("_") >= 2 else key[:3]
    return f"{kind}…{key[-4:]}"


def _stripe_client(key: str) -> stripe.StripeClient:
    return stripe_sync.stripe_client(key)


def connection_client(connection: StripeConnection) -> stripe.StripeClient:
    """A Stripe client with the connection's key, decrypted for the call only."""
    return _stripe_client(secret_decrypt(connection.restricted_key))


def failure_reason_of(error: Exception) -> str:
    """The FailureReason of a failed call to Stripe."""
    if isinstance(error, (stripe.AuthenticationError, stripe.PermissionError)):
        return FailureReason.KEY_REJECTED
    if isinstance(error, stripe.RateLimitError):
        return FailureReason.RATE_LIMITED
    if isinstance(error, stripe.APIConnectionError):
        return FailureReason.UNREACHABLE
    if isinstance(error, stripe.StripeError):
        return FailureReason.STRIPE_ERROR
    return FailureReason.SYNC_ERROR


def skip_reason_of(error: Exception) -> str | None:
    """The SkipReason of an error that syncing the customer again would meet again;
    None for one that may pass (429, 5xx, unreachable, a refused key: the outbox
    retries the run)."""
    if isinstance(error, StripeShapeError):
        return SkipReason.SHAPE
    if isinstance(error, RowsRejected):
        return SkipReason.ROWS_REJECTED
    if isinstance(error, DataError):
        return SkipReason.DATA_ERROR
    if isinstance(error, stripe.InvalidRequestError) and error.http_status in (400, 404):
        return SkipReason.STRIPE_REFUSED
    return None


def _customer_sync_or_skip(
    client: stripe.StripeClient, customer_id: str, **options: Any
) -> dict[str, Any] | None:
    """Sync one customer in a savepoint; on a permanent error roll it back, log it and
    return what to note in skipped_customers (re-raise any other error)."""
    try:
        with transaction.atomic():
            stripe_sync.customer_sync(client, customer_id, **options)
    except Exception as error:
        reason = skip_reason_of(error)
        if reason is None:
            raise
        params: dict[str, Any] = {}
        if isinstance(error, stripe.StripeError) and error.http_status:
            params["status"] = error.http_status
        logger.warning(
            "Stripe customer %s of organization %s skipped: %s (%s)",
            customer_id,
            current_organization().pk,
            type(error).__name__,
            reason,
        )
        return {"customer": customer_id, "reason": str(reason), "params": params}
    return None


def _skipped_noted(
    skipped: list[dict[str, Any]], customer_id: str, entry: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The list without the customer's former entry, with its new one (newest last)."""
    kept = [item for item in skipped if item.get("customer") != customer_id]
    if entry is not None:
        kept.append(entry)
    return kept[-SKIPPED_CUSTOMERS_MAX:]


@dataclass(frozen=True)
class StripeAccount:
    account_id: str  # "" when the key may not read the account (nor may it need to)
    livemode: bool


def stripe_key_verify(key: str) -> StripeAccount:
    """Check the key against Stripe now: it must list customers (the backfill's first
    read). Raises StripeKeyRefusedError with a message for the page; the key itself is in no
    message and no log."""
    key = key.strip()
    if not KEY_PATTERN.match(key):
        raise StripeKeyRefusedError(
            _(
                "This is not a Stripe secret key: a restricted key starts with rk_live_ or "
                "rk_test_ (Stripe dashboard, Developers, API keys)."
            ),
            reason="format",
        )
    client = _stripe_client(key)
    try:
        client.v1.customers.list({"limit": 1})
    except stripe.StripeError as error:
        reason = failure_reason_of(error)
        logger.info("Stripe refused a key being connected: %s (HTTP %s)", reason, error.http_status)
        messages: dict[str, str] = {
            FailureReason.KEY_REJECTED: _(
                "Stripe refused this key: it is invalid, revoked, or may not read customers. "
                "Nothing was saved."
            ),
            FailureReason.RATE_LIMITED: _(
                "Stripe asked us to slow down: try again in a minute. Nothing was saved."
            ),
            FailureReason.UNREACHABLE: _(
                "Stripe could not be reached to check the key: try again later. Nothing was saved."
            ),
        }
        raise StripeKeyRefusedError(
            messages.get(
                reason,
                _("Stripe answered with an error while checking the key. Nothing was saved."),
            ),
            reason=reason,
        ) from None
    account_id = ""
    # A restricted key without the account permission (or a fake Stripe without the
    # route): events are then checked without it (see stripe_webhook_receive).
    with contextlib.suppress(stripe.StripeError):
        account_id = client.v1.accounts.retrieve_current().id or ""
    return StripeAccount(account_id=account_id, livemode="_live_" in key)


def _webhook_token(organization: Organization) -> str:
    return f"{organization.pk}-{secrets.token_urlsafe(32)}"


def stripe_connection_get() -> StripeConnection | None:
    """The current organization's Stripe connection, if it has one."""
    return StripeConnection.objects.first()


@transaction.atomic
def stripe_connect(*, key: str, actor: User) -> StripeConnection:
    """Connect the current organization to Stripe with `key` (verified first: raises
    StripeKeyRefusedError and writes nothing when Stripe refuses it), stored encrypted, and
    queue the backfill. On an existing connection, replace its key: it must be of the
    same Stripe account; the backfill and the webhook set-up carry on (the backfill is
    queued again if it has not finished and no step of it is waiting).

    Two connections at once are one after the other (the organization's lock, taken
    after the check with Stripe): the second replaces the first's key."""
    key = key.strip()
    account = stripe_key_verify(key)
    organization = current_organization()
    organization_lock(LOCK)
    connection = StripeConnection.objects.select_for_update().first()
    hint = key_hint(key)
    if connection is not None:
        if (
            connection.stripe_account_id
            and account.account_id
            and connection.stripe_account_id != account.account_id
        ) or connection.livemode != account.livemode:
            raise StripeKeyRefusedError(
                _(
                    "This key is of another Stripe account (or mode) than the one connected: "
                    "disconnect first. Nothing was saved."
                ),
                reason="other_account",
            )
        connection.restricted_key = secret_encrypt(key)
        connection.key_hint = hint
        connection.stripe_account_id = connection.stripe_account_id or account.account_id
        _failure_clear(connection)
        connection.save()
        audit_record(
            AuditEvent.Action.STRIPE_KEY_REPLACED,
            actor=actor,
            target=hint,
            details={"key_hint": hint, "account": connection.stripe_account_id},
        )
        if connection.backfill_finished_at is None and not _backfill_waiting():
            _backfill_enqueue(connection)
        return connection
    now = timezone.now()
    connection = StripeConnection.objects.create(
        restricted_key=secret_encrypt(key),
        key_hint=hint,
        webhook_token=_webhook_token(organization),
        stripe_account_id=account.account_id,
        livemode=account.livemode,
        connected_by=actor,
        connected_at=now,
        backfill_started_at=now,
        events_cursor_created=now,  # before this, the backfill reads the current state
    )
    # A generation no earlier connection had (its row's id): steps still queued for a
    # connection deleted since find nothing to do.
    connection.backfill_generation = connection.pk
    connection.save(update_fields=["backfill_generation"])
    audit_record(
        AuditEvent.Action.STRIPE_CONNECTED,
        actor=actor,
        target=hint,
        details={"key_hint": hint, "account": account.account_id, "livemode": account.livemode},
    )
    _backfill_enqueue(connection)
    return connection


def _backfill_enqueue(connection: StripeConnection) -> None:
    from billing.tasks import stripe_backfill

    enqueue_on_commit(stripe_backfill, current_organization().pk, connection.backfill_generation)


@transaction.atomic
def stripe_webhook_secret_set(*, secret: str, actor: User) -> StripeConnection:
    """Store the signing secret of the Stripe endpoint that posts to the organization's
    webhook URL, encrypted. Raises StripeKeyRefusedError for what is not a signing secret
    (nothing written), and LookupError when the organization is not connected."""
    secret = secret.strip()
    if not SECRET_PATTERN.match(secret):
        raise StripeKeyRefusedError(
            _("This is not a Stripe signing secret: it starts with whsec_."), reason="format"
        )
    connection = StripeConnection.objects.select_for_update().first()
    if connection is None:
        raise LookupError("not connected")
    replaced = bool(connection.webhook_secret)
    connection.webhook_secret = secret_encrypt(secret)
    connection.save(update_fields=["webhook_secret", "updated_at"])
    audit_record(
        AuditEvent.Action.STRIPE_WEBHOOK_SECRET_SET,
        actor=actor,
        target=connection.key_hint,
        details={"replaced": replaced},
    )
    return connection


@transaction.atomic
def stripe_disconnect(*, actor: User) -> bool:
    """Forget the organization's Stripe key and signing secret (the row is deleted): the
    webhook URL stops answering, queued steps find nothing to do. The accounts and
    history already synced stay. Whether there was a connection."""
    connection = StripeConnection.objects.select_for_update().first()
    if connection is None:
        return False
    hint = connection.key_hint
    connection.delete()
    audit_record(
        AuditEvent.Action.STRIPE_DISCONNECTED,
        actor=actor,
        target=hint,
        details={"key_hint": hint},
    )
    return True


# --- failures -------------------------------------------------------------------------


def _failure_clear(connection: StripeConnection) -> None:
    connection.failure_reason = ""
    connection.failure_status = None
    connection.failures = 0
    connection.failing_since = None


RETRY_AFTER_MAX_SECONDS = 3600


def retry_after_seconds(error: Exception) -> int | None:
    """The seconds Stripe's Retry-After header asks to wait (capped at an hour), if any."""
    headers = getattr(error, "headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        seconds = int(str(value).strip())
    except ValueError:
        return None
    return min(max(seconds, 0), RETRY_AFTER_MAX_SECONDS)


def stripe_failure_record(error: Exception, *, outbox_id: int | None = None) -> None:
    """Note on the connection that a call to Stripe failed (the run that made it rolled
    back and the outbox will run it again): the page says why, and since when. When
    Stripe said how long to wait (Retry-After), the run's outbox message waits at least
    that long before the relay queues it again."""
    seconds = retry_after_seconds(error)
    if outbox_id is not None and seconds:
        later = timezone.now() + timedelta(seconds=seconds)
        OutboxMessage.objects.filter(pk=outbox_id, run_after__lt=later).update(run_after=later)
    connection = StripeConnection.objects.select_for_update().first()
    if connection is None:
        return
    connection.failure_reason = failure_reason_of(error)
    connection.failure_status = getattr(error, "http_status", None)
    connection.failures += 1
    connection.failing_since = connection.failing_since or timezone.now()
    connection.save(
        update_fields=[
            "failure_reason",
            "failure_status",
            "failures",
            "failing_since",
            "updated_at",
        ]
    )


# --- the backfill -----------------------------------------------------------------------


def stripe_backfill_step(generation: int) -> bool:
    """Sync the next customer of the current organization's backfill `generation`, in
    the current transaction, with the cursor (the last customer synced): a run that
    fails or is killed leaves the cursor at the last committed customer, and the next
    run starts after it. Reads a page of customer ids when the page in progress is
    done. True when customers remain; False when done, or when the run is stale (a
    newer generation, a disconnected organization)."""
    organization_lock(LOCK)  # the steps and syncs of one organization, one at a time
    # Read without a row lock: the calls to Stripe below may take seconds, and the
    # webhook view and the Connections page read this row meanwhile.
    connection = StripeConnection.objects.first()
    if (
        connection is None
        or connection.backfill_generation != generation
        or connection.backfill_finished_at is not None
    ):
        return False
    client = connection_client(connection)
    if not connection.backfill_page and connection.backfill_more:
        ids, next_cursor = stripe_sync.customers_page(
            client, starting_after=connection.backfill_cursor or None, limit=BACKFILL_PAGE
        )
        connection.backfill_page = list(ids)
        connection.backfill_more = next_cursor is not None and bool(ids)
    skipped: dict[str, Any] | None = None
    customer_id = ""
    if connection.backfill_page:
        customer_id = connection.backfill_page[0]
        # The health history is computed again once, at the end, not per customer.
        skipped = _customer_sync_or_skip(client, customer_id, announce_history=False)
        connection.backfill_page = connection.backfill_page[1:]
        connection.backfill_cursor = customer_id
        if skipped is None:
            connection.backfill_customers_done += 1
    if not connection.backfill_page and not connection.backfill_more:
        connection.backfill_finished_at = timezone.now()
        stripe_sync.stripe_history_loaded()
    # The progress, saved under the row's lock now that Stripe has answered; fields
    # named, so a key replaced meanwhile stays replaced.
    locked = (
        StripeConnection.objects.select_for_update()
        .filter(pk=connection.pk, backfill_generation=generation)
        .first()
    )
    if locked is None:  # disconnected or reconnected meanwhile
        return False
    if customer_id:
        locked.skipped_customers = _skipped_noted(locked.skipped_customers, customer_id, skipped)
    for name in _PROGRESS_FIELDS:
        setattr(locked, name, getattr(connection, name))
    _failure_clear(locked)
    locked.save(
        update_fields=[*_PROGRESS_FIELDS, *_FAILURE_FIELDS, "skipped_customers", "updated_at"]
    )
    return locked.backfill_finished_at is None


_PROGRESS_FIELDS = (
    "backfill_page",
    "backfill_more",
    "backfill_cursor",
    "backfill_customers_done",
    "backfill_finished_at",
)
_FAILURE_FIELDS = ("failure_reason", "failure_status", "failures", "failing_since")


def _backfill_waiting() -> bool:
    from billing.tasks import stripe_backfill

    return OutboxMessage.objects.filter(
        task=stripe_backfill.name, given_up_at__isnull=True
    ).exists()


# --- webhooks ---------------------------------------------------------------------------


def organization_for_webhook_token(token: str) -> Organization | None:
    """The active organization a webhook token names (its id before the first "-"),
    or None. The token is checked against the connection inside that organization."""
    head, _sep, rest = token.partition("-")
    if not head.isdigit() or not rest or len(token) > 80:
        return None
    return Organization.objects.filter(pk=int(head), is_active=True).first()


@dataclass(frozen=True)
class WebhookOutcome:
    status: int  # the HTTP status to answer Stripe with
    detail: str  # for Stripe's delivery log and ours (English: nobody's language)


def stripe_webhook_receive(*, token: str, payload: bytes, signature: str) -> WebhookOutcome:
    """Take in one event posted to the current organization's webhook URL.

    404 unless `token` is the connection's; 400 (nothing written) without a signing
    secret, or unless `signature` (the Stripe-Signature header) signs `payload` with it,
    through stripe.Webhook.construct_event; 403 (logged, nothing written) for an event
    of another Stripe account or mode. Otherwise the event is recorded by id with, in
    the same transaction, the sync of its customer queued: a second delivery of the
    same event is a 200 that does nothing."""
    # Read, never locked nor written: a task may hold the row while it waits on Stripe,
    # and a webhook must not wait for it (the last webhook's time is its StripeEvent's).
    connection = StripeConnection.objects.first()
    if connection is None or not hmac.compare_digest(
        connection.webhook_token.encode(), token.encode()
    ):
        return WebhookOutcome(404, "unknown endpoint")
    if not connection.webhook_secret:
        return WebhookOutcome(400, "no signing secret set for this endpoint")
    try:
        stripe.Webhook.construct_event(
            payload, signature, secret_decrypt(connection.webhook_secret)
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError):
        return WebhookOutcome(400, "bad or missing signature")
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return WebhookOutcome(400, "not a Stripe event")
    account = event.get("account")
    if (account and account != connection.stripe_account_id) or bool(
        event.get("livemode")
    ) != connection.livemode:
        logger.warning(
            "Stripe event %s refused for organization %s: account %s, livemode %s, "
            "connected to %s (livemode %s)",
            event["id"],
            connection.organization_id,
            account,
            event.get("livemode"),
            connection.stripe_account_id or "(unknown)",
            connection.livemode,
        )
        return WebhookOutcome(403, "event of another Stripe account")
    customer_id = stripe_sync.event_customer_id(event) or ""
    if not _event_record(event, customer_id=customer_id, source=StripeEvent.Source.WEBHOOK):
        return WebhookOutcome(200, "already received")
    if customer_id:
        _customer_sync_enqueue(customer_id)
    return WebhookOutcome(200, "received")


def stripe_last_webhook_at() -> datetime | None:
    """When the current organization's last webhook event arrived."""
    return StripeEvent.objects.filter(source=StripeEvent.Source.WEBHOOK).aggregate(
        at=Max("received_at")
    )["at"]


def _event_created(event: dict[str, Any]) -> datetime:
    created = event.get("created")
    if isinstance(created, int):
        return datetime.fromtimestamp(created, tz=UTC)
    return timezone.now()


def _event_record(event: dict[str, Any], *, customer_id: str, source: str) -> bool:
    """Record the event; False if it was already (a unique key, not a check in Python)."""
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event["id"],
                type=str(event.get("type", ""))[:100],
                created=_event_created(event),
                customer_id=customer_id[:255],
                source=source,
            )
    except IntegrityError:
        return False
    return True


def _customer_sync_task_name() -> str:
    from billing.tasks import stripe_customer_sync

    return str(stripe_customer_sync.name)


def _customer_sync_enqueue(customer_id: str) -> None:
    from billing.tasks import stripe_customer_sync

    enqueue_on_commit(stripe_customer_sync, current_organization().pk, customer_id)


def stripe_customer_sync(customer_id: str) -> bool:
    """Rebuild one customer's rows from its current state in Stripe (queued by a webhook
    or the reconciliation). False when the organization is no longer connected.
    A permanent error (skip_reason_of) rolls back that customer's sync, is noted in
    skipped_customers and the run ends normally: running it again would fail again."""
    organization_lock(LOCK)
    connection = StripeConnection.objects.first()  # no row lock while Stripe answers
    if connection is None:
        return False
    skipped = _customer_sync_or_skip(connection_client(connection), customer_id)
    locked = StripeConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if locked is None:
        return False
    noted = _skipped_noted(locked.skipped_customers, customer_id, skipped)
    if locked.failures or noted != locked.skipped_customers:
        locked.skipped_customers = noted
        _failure_clear(locked)
        locked.save(update_fields=[*_FAILURE_FIELDS, "skipped_customers", "updated_at"])
    return True


# --- the nightly reconciliation -------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    events: int  # events listed since the cursor
    new: int  # of which not received before
    customers: int  # customers queued for a sync
    backfill_resumed: bool


def stripe_reconcile() -> Reconciliation | None:
    """Read Stripe's events since the cursor, record the ones never received (a missed
    webhook), queue one sync per customer they name (deduplicated), and move the cursor
    to the newest event; resume a backfill whose chain of steps was given up. None when
    the organization is not connected."""
    organization_lock(LOCK)
    connection = StripeConnection.objects.first()  # no row lock while Stripe answers
    if connection is None:
        return None
    client = connection_client(connection)
    since = connection.events_cursor_created or connection.connected_at
    events: list[dict[str, Any]] = []
    starting_after: str | None = None
    while True:
        gte = int(since.timestamp())
        page = (
            client.v1.events.list(
                {"created": {"gte": gte}, "limit": RECONCILE_PAGE, "starting_after": starting_after}
            )
            if starting_after
            else client.v1.events.list({"created": {"gte": gte}, "limit": RECONCILE_PAGE})
        )
        batch = [event.to_dict() for event in page.data]
        events += batch
        if not page.has_more or not batch:
            break
        starting_after = batch[-1]["id"]
    ids = [event["id"] for event in events]
    known = set(StripeEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    fresh = [event for event in events if event["id"] not in known]
    named = [(event, stripe_sync.event_customer_id(event) or "") for event in fresh]
    StripeEvent.objects.bulk_create(
        [
            StripeEvent(
                event_id=event["id"],
                type=str(event.get("type", ""))[:100],
                created=_event_created(event),
                customer_id=customer_id[:255],
                source=StripeEvent.Source.RECONCILIATION,
            )
            for event, customer_id in named
        ],
        ignore_conflicts=True,  # a webhook may deliver one meanwhile: it queued its own sync
    )
    # The syncs the outbox gave up (Stripe failing for days): their events are already
    # recorded, so they are queued again from their messages, which go.
    given_up = OutboxMessage.objects.filter(
        task=_customer_sync_task_name(), given_up_at__isnull=False
    )
    lost = [str(args[0]) for args in given_up.values_list("args", flat=True) if args]
    given_up.delete()
    customers = list(
        dict.fromkeys([*(customer_id for _event, customer_id in named if customer_id), *lost])
    )
    for customer_id in customers:
        _customer_sync_enqueue(customer_id)
    locked = StripeConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if locked is None:
        return None
    if events:
        newest = max(events, key=lambda event: (event.get("created") or 0, event["id"]))
        locked.events_cursor_id = newest["id"]
        locked.events_cursor_created = _event_created(newest)
    locked.last_reconciled_at = timezone.now()
    resumed = False
    if locked.backfill_finished_at is None and not _backfill_waiting():
        _backfill_enqueue(locked)
        resumed = True
    _failure_clear(locked)
    locked.save(
        update_fields=[
            "events_cursor_id",
            "events_cursor_created",
            "last_reconciled_at",
            *_FAILURE_FIELDS,
            "updated_at",
        ]
    )
    return Reconciliation(
        events=len(events), new=len(fresh), customers=len(customers), backfill_resumed=resumed
    )
