"""The transactional outbox (see csplatform.models.OutboxMessage).

    record   in the change's transaction: an OutboxMessage row
    publish  once it commits: the Celery task, best effort (Redis may be down)
    done     in the task's transaction: the rows it did the work of are deleted
    relay    every minute: rows still there once overdue are published again

A message is overdue `OUTBOX_GRACE_SECONDS` after it should have run; each relay of
it doubles the wait (capped at an hour), so a task that keeps failing is retried
without flooding the queue. Nothing is lost but time: at worst the work runs twice,
and every task is idempotent.
"""

import logging
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from csplatform.models import OutboxMessage
from csplatform.tenancy import organization_model, tenant_context

logger = logging.getLogger(__name__)

RELAY_BATCH = 500
MAX_BACKOFF_SECONDS = 3600


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
# it succeeds: kombu retries a refused connection for seconds, which a request should
# not wait for when the outbox will catch up anyway.
_broker_down = False
BROKER_PROBE_SECONDS = 0.5


def broker_down() -> None:
    """Note that the broker (or the cache beside it) just failed."""
    global _broker_down
    _broker_down = True


def _broker_reachable() -> bool:
    url = urlsplit(settings.CELERY_BROKER_URL)
    try:
        with socket.create_connection(
            (url.hostname or "127.0.0.1", url.port or 6379), timeout=BROKER_PROBE_SECONDS
        ):
            return True
    except OSError:
        return False


def outbox_publish(
    task_name: str,
    organization_id: int,
    args: Sequence[Any] = (),
    *,
    outbox_id: int | None = None,
    countdown: float = 0,
) -> bool:
    """Queue the task now, once, without retrying: if the broker is down the message
    stays in the outbox and the relay publishes it later. Returns whether it went out."""
    global _broker_down
    if _broker_down:
        if not _broker_reachable():
            return False
        _broker_down = False
    try:
        current_app.send_task(
            task_name,
            args=(organization_id, *args),
            kwargs={} if outbox_id is None else {"outbox_id": outbox_id},
            countdown=countdown or None,
            retry=False,
            ignore_result=True,  # no result store to reach (Redis too): nobody reads it
        )
    except Exception:
        _broker_down = True
        logger.warning(
            "could not queue %s for organization %s; the outbox relay will",
            task_name,
            organization_id,
            exc_info=True,
        )
        return False
    return True


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
    waiting = OutboxMessage.objects.select_for_update(skip_locked=True)
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
            "run_after = %s + make_interval(secs => least(%s * power(2, attempts), %s)) "
            "WHERE id = ANY(%s)",
            [now, grace, MAX_BACKOFF_SECONDS, [message.pk for message in due]],
        )
    organization_id = due[0].organization_id
    debounced = sorted({message.task for message in due if message.debounced})
    single = [message for message in due if not message.debounced]

    def publish() -> None:
        for task_name in debounced:
            outbox_publish(task_name, organization_id)
        for message in single:
            outbox_publish(message.task, organization_id, message.args, outbox_id=message.pk)

    transaction.on_commit(publish)
    return len(debounced) + len(single)


def outbox_relay(*, everything: bool = False) -> int:
    """Publish every active organization's overdue messages (every message:
    `everything`) again; returns the tasks queued. One short transaction per
    organization: row-level security shows each transaction one organization's outbox."""
    organization_ids = list(
        organization_model().objects.filter(is_active=True).values_list("pk", flat=True)
    )
    queued = 0
    for organization_id in organization_ids:
        with tenant_context(organization_id):
            queued += _relay_due(everything=everything)
    return queued
