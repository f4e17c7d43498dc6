"""Helpers for tenant-scoped Celery tasks.

A task is an interface: it takes ids (never model instances), enters the
organization's tenant context, and calls a service. Tasks are acks_late, so
a worker lost mid-task hands it to another: each must be idempotent.
"""

from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from celery import Task, shared_task
from django.db import transaction

from csplatform.tenancy import organization_model, tenant_context


def tenant_task(**options: Any) -> Callable[[Callable[..., Any]], Task]:
    """Make `fn(*args)` a Celery task called as `task.delay(organization_id, *args)`.

    The body runs inside `tenant_context(organization_id)`, one transaction.
    """

    def decorator(fn: Callable[..., Any]) -> Task:
        @wraps(fn)
        def run(organization_id: int, *args: Any, **kwargs: Any) -> Any:
            with tenant_context(organization_id):
                return fn(*args, **kwargs)

        options.setdefault("acks_late", True)
        options.setdefault("name", f"{fn.__module__}.{fn.__name__}")
        return shared_task(**options)(run)

    return decorator


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Send the task once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(task.delay, *args, **kwargs))


def fan_out(task: Task) -> int:
    """Queue `task` once per active organization; returns how many were queued."""
    organization_ids = list(
        organization_model().objects.filter(is_active=True).values_list("pk", flat=True)
    )
    for organization_id in organization_ids:
        task.delay(organization_id)
    return len(organization_ids)
