"""The transactional outbox (see csplatform.models.OutboxMessage).

    record   in the change's transaction: an OutboxMessage row
    publish  once it commits: the Celery task, best effort (Redis may be down)
    done     in the task's transaction: the rows it did the work of are deleted
    relay    every minute: rows still there once overdue are published again

A message is overdue `OUTBOX_GRACE_SECONDS` after it should have run; each relay of
it doubles the wait (2, 4, 8… times the grace, capped at an hour), so a task that keeps
failing is retried without flooding the queue. A relayed debounced run that finds
its work already done, or a run for a message already deleted, does nothing. Nothing is
lost but time: at worst the work runs twice, and every task is idempotent.

    deliver  before a run starts, in a transaction of its own: count the run

A message whose runs keep failing, or keep being killed (acks_late and
reject-on-worker-lost give a killed run back to the queue at once), would be run
forever and stall the one queue for every organization: after OUTBOX_MAX_DELIVERIES
runs it is given up instead, logged as an error and kept with `given_up_at` for an
operator to look at (docs/operations.md); the relay never publishes it again.
"""

import logging
import socket
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone

from csplatform.models import OutboxMessage
from csplatform.tenancy import current_organization_id, organization_model, tenant_context

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
MAX_BACKOFF_SECONDS = 3600
MAX_DELIVERIES_STORED = 32767  # the column's ceiling


def outbox_record(
    task_name: str, args: Sequence[Any] = (), *, debounced: bool = False, countdown: float = 0
) -> int:
    """Record, in the current transaction and organization, that `task_name(args)` must
    run; returns the message id."""
    message = OutboxMessage(
        task=task_name,
        args=list(args),
        debounced=debounced,
        run_after=timezone.now() + timedelta(seconds=countdown + settings.OUTBOX_GRACE_SECONDS),
    )
    message.save()
    return message.pk


# While the broker is known to be down, publishing is skipped unless a quick connect to
# it succeeds (or, for a broker we cannot probe so, for BROKER_PAUSE_SECONDS): kombu
# retries a refused connection for seconds, which a request should not wait for when
# the outbox will catch up anyway. Per process; a race on it is harmless.
_broker_down_since: float | None = None
BROKER_PROBE_SECONDS = 0.5
BROKER_PAUSE_SECONDS = 10.0
_DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "amqp": 5672, "amqps": 5671}


def broker_down() -> None:
    """Note that the broker (or the cache beside it) just failed."""
    global _broker_down_since
    if _broker_down_since is None:
        _broker_down_since = time.monotonic()


def _broker_address() -> tuple[str, int] | None:
    """The broker's host and port when its URL names one (redis, rediss, amqp)."""
    try:
        url = urlsplit(settings.CELERY_BROKER_URL)
        port = url.port or _DEFAULT_PORTS.get(url.scheme)
    except ValueError:  # several hosts (sentinel), a socket path…
        return None
    if url.scheme not in _DEFAULT_PORTS or not url.hostname or not port:
        return None
    return url.hostname, port


def broker_known_down() -> bool:
    """Whether the broker failed lately and still does not answer a quick connect."""
    global _broker_down_since
    if _broker_down_since is None:
        return False
    address = _broker_address()
    if address is None:
        reachable = time.monotonic() - _broker_down_since >= BROKER_PAUSE_SECONDS
    else:
        try:
            with socket.create_connection(address, timeout=BROKER_PROBE_SECONDS):
                reachable = True
        except OSError:
            reachable = False
    if reachable:
        _broker_down_since = None
    return not reachable


def outbox_publish(
    task_name: str,
    organization_id: int,
    args: Sequence[Any] = (),
    *,
    outbox_id: int | None = None,
    countdown: float = 0,
    relayed: bool = False,
) -> bool:
    """Queue the task now, once, without retrying: if the broker is down the message
    stays in the outbox and the relay publishes it later. Returns whether it went out.
    (Through the registered task when there is one, so CELERY_TASK_ALWAYS_EAGER runs
    it inline.)"""
    if broker_known_down():
        logger.info("broker down: %s left to the outbox relay", task_name)
        return False
    kwargs: dict[str, Any] = {}
    if outbox_id is not None:
        kwargs["outbox_id"] = outbox_id
    if relayed:
        kwargs["relayed"] = True
    try:
        task = current_app.tasks.get(task_name)
        if task is not None:
            task.apply_async(
                (organization_id, *args),
                kwargs,
                countdown=countdown,
                retry=False,
                ignore_result=True,
            )
        else:
            current_app.send_task(
                task_name,
                args=(organization_id, *args),
                kwargs=kwargs,
                countdown=countdown,
                retry=False,
                ignore_result=True,  # no result store to reach (Redis too): nobody reads it
            )
    except Exception:
        broker_down()
        logger.warning(
            "could not queue %s for organization %s; the outbox relay will",
            task_name,
            organization_id,
            exc_info=True,
        )
        return False
    return True


def outbox_deliver(task_name: str, *, outbox_id: int | None) -> bool:
    """Count a run of `task_name` for the message `outbox_id` (None: for the task's
    debounced messages) before the run's own transaction, so that a run killed halfway
    still counts; call in a tenant context of its own, which commits the count.

    Messages already run OUTBOX_MAX_DELIVERIES times are given up instead (logged,
    stamped, kept). Messages another run holds (it is finishing them) are skipped, never
    waited for. Returns whether to run: False when the messages the run was for are
    given up or held by another run, True otherwise (a message already gone is the
    run's own business, see outbox_take)."""
    limit = settings.OUTBOX_MAX_DELIVERIES
    mine = OutboxMessage.objects.filter(
        **({"pk": outbox_id} if outbox_id is not None else {"task": task_name, "debounced": True})
    )
    free = list(
        mine.filter(given_up_at__isnull=True)
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", "deliveries")
    )
    given_up = [pk for pk, deliveries in free if deliveries >= limit]
    counted = [pk for pk, deliveries in free if deliveries < limit]
    if given_up:
        OutboxMessage.objects.filter(pk__in=given_up).update(given_up_at=timezone.now())
        logger.error(
            "%s gave up outbox message(s) %s of organization %s after %s runs that did "
            "not finish; kept for an operator (docs/operations.md)",
            task_name,
            given_up,
            current_organization_id(),
            limit,
        )
    if counted:
        OutboxMessage.objects.filter(pk__in=counted).update(
            deliveries=Least(F("deliveries") + 1, Value(MAX_DELIVERIES_STORED))
        )
        return True
    return not mine.exists()


def outbox_take(outbox_id: int) -> bool:
    """Delete the message a run was published for, first thing in its transaction;
    False if it is gone (done by an earlier copy of the run). The row lock makes a
    concurrent copy wait for this run's commit."""
    deleted, _by_model = OutboxMessage.objects.filter(pk=outbox_id).delete()
    return deleted > 0


def outbox_claim(task_name: str) -> list[int]:
    """The ids of the task's debounced messages recorded so far: what a run starting now
    will do the work of. (Ids, not a high-water mark: a message with a lower id may
    commit later, after this run has read the data.)"""
    return list(
        OutboxMessage.objects.filter(task=task_name, debounced=True).values_list("pk", flat=True)
    )


def outbox_done(claimed: Sequence[int]) -> None:
    """Delete the messages whose work the current transaction did (it commits with them)."""
    if claimed:
        OutboxMessage.objects.filter(pk__in=list(claimed)).delete()


def outbox_pending() -> int:
    """How many messages the current organization has waiting."""
    return OutboxMessage.objects.count()


def _relay_due(*, everything: bool) -> int:
    """Publish the current organization's overdue messages (every one: `everything`)
    again, one run per debounced task; returns how many tasks were queued."""
    now = timezone.now()
    waiting = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
        given_up_at__isnull=True
    )
    if not everything:
        waiting = waiting.filter(run_after__lte=now)
    due = list(waiting.order_by("pk")[:RELAY_BATCH])
    if not due:
        return 0
    grace = settings.OUTBOX_GRACE_SECONDS
    with connection.cursor() as cursor:
        # One statement: each message's next chance doubles its wait, up to an hour.
        cursor.execute(
            "UPDATE csplatform_outboxmessage SET attempts = least(attempts + 1, 30), "
            "run_after = %s + make_interval(secs => least(%s * power(2, attempts + 1), %s)) "
            "WHERE organization_id = %s AND id = ANY(%s)",
            [now, grace, MAX_BACKOFF_SECONDS, due[0].organization_id, [m.pk for m in due]],
        )
    organization_id = due[0].organization_id
    debounced = sorted({message.task for message in due if message.debounced})
    single = [message for message in due if not message.debounced]

    def publish() -> None:
        for task_name in debounced:
            outbox_publish(task_name, organization_id, relayed=True)
        for message in single:
            outbox_publish(message.task, organization_id, message.args, outbox_id=message.pk)

    transaction.on_commit(publish)
    return len(debounced) + len(single)


def outbox_relay(*, everything: bool = False) -> int:
    """Publish every active organization's overdue messages (every message:
    `everything`) again; returns the tasks queued. One short transaction per
    organization: row-level security shows each transaction one organization's outbox."""
    queued = 0
    for organization in organization_model().objects.filter(is_active=True).order_by("pk"):
        try:
            with tenant_context(organization):
                queued += _relay_due(everything=everything)
        except Exception:  # one organization's trouble stops no other
            logger.exception("outbox relay failed for organization %s", organization.pk)
    return queued
