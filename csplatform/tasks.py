"""Helpers for tenant-scoped Celery tasks.

A task is an interface: it takes ids (never model instances), enters the
organization's tenant context, and calls a service. Tasks are acks_late, so
a worker lost mid-task hands it to another: each must be idempotent.
"""

import logging
import zlib
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from celery import Task, shared_task
from django.core.cache import cache
from django.db import connection, transaction

from csplatform.tenancy import current_organization, organization_model, tenant_context

logger = logging.getLogger(__name__)


def tenant_task(*, exclusive: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Task]:
    """Make `fn(*args)` a Celery task called as `task.delay(organization_id, *args)`.

    The body runs inside `tenant_context(organization_id)`, one transaction. An
    organization deleted or deactivated since the task was queued is skipped
    (returns None). `exclusive=True` takes a Postgres advisory lock for
    (task, organization) first, so two workers never run it for the same
    organization at once; the second waits, then finds the work done.
    """

    def decorator(fn: Callable[..., Any]) -> Task:
        name = options.setdefault("name", f"{fn.__module__}.{fn.__name__}")

        @wraps(fn)
        def run(organization_id: int, *args: Any, **kwargs: Any) -> Any:
            organization = (
                organization_model().objects.filter(pk=organization_id, is_active=True).first()
            )
            if organization is None:
                logger.info(
                    "%s skipped: organization %s is gone or inactive", name, organization_id
                )
                return None
            with tenant_context(organization):
                if exclusive:
                    organization_lock(name)
                return fn(*args, **kwargs)

        options.setdefault("acks_late", True)
        return shared_task(**options)(run)

    return decorator


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


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Send the task once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(task.delay, *args, **kwargs))


def _debounce_key(task: Task, organization_id: int) -> str:
    return f"debounce:{task.name}:{organization_id}"


def enqueue_debounced(task: Task, organization_id: int, *, delay: float) -> None:
    """After the current transaction commits, queue `task(organization_id)` to run in
    `delay` seconds, unless a run is already waiting: a burst of changes causes one run.

    The task must call `debounce_release` before it reads what changed, so a change
    made while it runs schedules another run. If the broker or cache is down the
    change is kept (it committed) and the periodic sweep catches up; the request
    does not fail for it.
    """

    def send() -> None:
        try:
            if cache.add(_debounce_key(task, organization_id), 1, timeout=delay + 60):
                task.apply_async((organization_id,), countdown=delay)
        except Exception:
            logger.exception("could not queue %s for organization %s", task.name, organization_id)

    transaction.on_commit(send)


def debounce_release(task: Task, organization_id: int) -> None:
    """Let the next change queue `task` again (call first thing in a debounced task)."""
    cache.delete(_debounce_key(task, organization_id))


def fan_out(task: Task) -> int:
    """Queue `task` once per active organization; returns how many were queued."""
    organization_ids = list(
        organization_model().objects.filter(is_active=True).values_list("pk", flat=True)
    )
    for organization_id in organization_ids:
        task.delay(organization_id)
    return len(organization_ids)
