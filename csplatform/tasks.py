"""Helpers for tenant-scoped Celery tasks.

A task is an interface: it takes ids (never model instances), enters the
organization's tenant context, and calls a service. Tasks are acks_late, so
a worker lost mid-task hands it to another, and queued through the outbox
(csplatform.outbox), so a task lost with Redis is queued again: each must be
idempotent.
"""

import logging
import zlib
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from celery import Task, current_task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from csplatform.outbox import (
    broker_down,
    broker_known_down,
    outbox_claim,
    outbox_deliver,
    outbox_done,
    outbox_publish,
    outbox_record,
    outbox_take,
)
from csplatform.tenancy import current_organization, organization_model, tenant_context

logger = logging.getLogger(__name__)


def tenant_task(
    *, exclusive: bool = False, debounced: bool = False, **options: Any
) -> Callable[[Callable[..., Any]], Task]:
    """Make `fn(*args)` a Celery task called as `task.delay(organization_id, *args)`.

    The body runs inside `tenant_context(organization_id)`, one transaction. An
    organization deleted or deactivated since the task was queued is skipped
    (returns None). `exclusive=True` takes a Postgres advisory lock for
    (task, organization) first, so two workers never run it for the same
    organization at once; the second waits, then finds the work done.

    The outbox messages the run does the work of are deleted in its transaction: the
    one it was published for (`outbox_id`), and with `debounced=True` (a task queued
    by `enqueue_debounced`) every message of the task recorded before it started. A
    run that fails or is killed leaves them, and the relay queues it again. A run
    published for a message already done (the relay queued it again while the first
    run was waiting in the queue) does nothing: the message is deleted first, so a
    second copy finds it held (and leaves it to the first run) or gone. Each run is
    counted on its messages first, committed on its own; messages run
    OUTBOX_MAX_DELIVERIES times without finishing are given up, and a run for nothing
    else does nothing (csplatform.outbox.outbox_deliver). A run queued without the
    outbox is counted by its Celery id in the cache (redelivered_too_often).
    """

    def decorator(fn: Callable[..., Any]) -> Task:
        name = options.setdefault("name", f"{fn.__module__}.{fn.__name__}")

        @wraps(fn)
        def run(
            organization_id: int,
            *args: Any,
            outbox_id: int | None = None,
            relayed: bool = False,
            **kwargs: Any,
        ) -> Any:
            organization = (
                organization_model().objects.filter(pk=organization_id, is_active=True).first()
            )
            if organization is None:
                logger.info(
                    "%s skipped: organization %s is gone or inactive", name, organization_id
                )
                return None
            if outbox_id is not None or debounced:
                # Counted in a transaction of its own, before the work's: see outbox_deliver.
                with tenant_context(organization):
                    if not outbox_deliver(name, outbox_id=outbox_id):
                        return None
            if outbox_id is None and redelivered_too_often(name, organization_id):
                return None
            with tenant_context(organization):
                if outbox_id is not None and not outbox_take(outbox_id):
                    logger.info("%s skipped: its outbox message %s is done", name, outbox_id)
                    return None
                claimed = []
                if debounced:
                    # First, so a change made while this runs queues another run.
                    debounce_release_key(name, organization_id)
                    claimed = outbox_claim(name)
                    if relayed and not claimed:
                        return None  # another run did the work the relay queued this for
                if exclusive:
                    organization_lock(name)
                result = fn(*args, **kwargs)
                outbox_done(claimed)
                return result

        options.setdefault("acks_late", True)
        return shared_task(**options)(run)

    return decorator


DELIVERY_COUNT_SECONDS = 24 * 3600


def redelivered_too_often(name: str, organization_id: int) -> bool:
    """Whether the message of the running task (its Celery id) was already started
    OUTBOX_MAX_DELIVERIES times, as a run queued without the outbox (a sweep's fan-out)
    would be when it keeps killing its worker: acks_late with reject-on-worker-lost
    hands it back at once, forever. Counted in the cache for a day; if the cache is
    unreachable, the run goes ahead."""
    task_id = getattr(getattr(current_task, "request", None), "id", None)
    if not task_id:
        return False
    key = f"deliveries:{task_id}"
    try:
        cache.add(key, 0, timeout=DELIVERY_COUNT_SECONDS)
        runs = cache.incr(key)
    except Exception:
        logger.warning("cache unavailable; run %s of %s not counted", task_id, name)
        return False
    if runs <= settings.OUTBOX_MAX_DELIVERIES:
        return False
    logger.error(
        "%s gave up task %s of organization %s: started %s times without finishing "
        "(docs/operations.md)",
        name,
        task_id,
        organization_id,
        runs - 1,
    )
    return True


def lock_namespace(name: str) -> int:
    """The first half of an advisory lock key: a signed 32-bit number per task name."""
    return zlib.crc32(name.encode()) - 2**31


def organization_lock(name: str) -> None:
    """Wait for, then hold to the end of the transaction, the lock on (name, organization)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [lock_namespace(name), current_organization().pk],
        )


def enqueue_on_commit(task: Task, organization_id: int, *args: Any, countdown: float = 0) -> None:
    """Run `task(organization_id, *args)` once the current transaction commits (and
    `countdown` seconds more).

    Recorded in the outbox in this transaction (call inside the organization's tenant
    context): if the broker is down at commit, or the queued task is lost, the relay
    queues it again, so it runs at least once.
    """
    if organization_id != current_organization().pk:
        raise ValueError("enqueue_on_commit: the task's organization is not the current one")
    outbox_id = outbox_record(task.name, args, countdown=countdown)
    transaction.on_commit(
        partial(
            outbox_publish,
            task.name,
            organization_id,
            args,
            outbox_id=outbox_id,
            countdown=countdown,
        )
    )


def _debounce_key(name: str, organization_id: int) -> str:
    return f"debounce:{name}:{organization_id}"


def enqueue_debounced(task: Task, organization_id: int, *, delay: float) -> None:
    """After the current transaction commits, queue `task(organization_id)` to run in
    `delay` seconds, unless a run is already waiting: a burst of changes causes one run.

    The task must be a `tenant_task(debounced=True)`. The need for a run is recorded in
    the outbox in this transaction; the cache only keeps a burst from queueing many
    runs. If Redis is down, the request still succeeds (its change committed) and the
    outbox relay queues the run once Redis is back.
    """
    outbox_record(task.name, debounced=True, countdown=delay)

    def send() -> None:
        if broker_known_down():
            return  # the relay will queue it; don't wait on an unreachable Redis
        key = _debounce_key(task.name, organization_id)
        try:
            if not cache.add(key, 1, timeout=delay + 60):
                return  # a run is already waiting
        except Exception:
            logger.warning("cache unavailable; the outbox relay will queue %s", task.name)
            broker_down()  # the same Redis, most likely: spare the next publish its retries
            return
        if not outbox_publish(task.name, organization_id, countdown=delay):
            debounce_release_key(task.name, organization_id)

    transaction.on_commit(send)


def debounce_release_key(name: str, organization_id: int) -> None:
    try:
        cache.delete(_debounce_key(name, organization_id))
    except Exception:
        logger.warning("cache unavailable; %s not released", name, exc_info=True)


def debounce_release(task: Task, organization_id: int) -> None:
    """Let the next change queue `task` again (a debounced task does this itself)."""
    debounce_release_key(task.name, organization_id)


def fan_out(task: Task, *, before: Callable[[int], None] | None = None) -> int:
    """Queue `task` once per active organization; returns how many were queued.
    `before(count)` is called first, with how many are about to be queued."""
    organization_ids = list(
        organization_model().objects.filter(is_active=True).values_list("pk", flat=True)
    )
    if before is not None:
        before(len(organization_ids))
    for organization_id in organization_ids:
        task.delay(organization_id)
    return len(organization_ids)


@shared_task(name="csplatform.tasks.outbox_relay_sweep")
def outbox_relay_sweep() -> int:
    """Queue again the follow-up work whose task never ran (Redis was down, a queue was
    lost, a run failed); returns the tasks queued."""
    from csplatform.outbox import outbox_relay

    return outbox_relay()
