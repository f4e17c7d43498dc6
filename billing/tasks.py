"""The Stripe connection's Celery tasks: ids in, the service does the work
(billing.services). Each is queued through the outbox: a call to Stripe that fails
(429, 5xx, unreachable) raises, the run rolls back, and the outbox runs it again later,
waiting twice as long each time (csplatform.outbox); the failure is noted on the
connection for the Connections page."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from accounts.tenancy import current_organization
from billing import services
from csplatform.tasks import enqueue_on_commit, fan_out, tenant_task
from csplatform.tenancy import organization_model, tenant_context

logger = logging.getLogger(__name__)


class StripeTask(Task):
    """Notes a failed run on the connection, once it has rolled back: a call to Stripe
    that failed, or an unexpected error (the page then says failing, not connected)."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        if not args:
            return
        organization = organization_model().objects.filter(pk=args[0], is_active=True).first()
        if organization is None:
            return
        try:
            with tenant_context(organization):
                services.stripe_failure_record(exc, outbox_id=(kwargs or {}).get("outbox_id"))
        except Exception:  # the note is a courtesy: the outbox retries either way
            logger.exception("could not note a Stripe failure for organization %s", args[0])


@tenant_task(base=StripeTask)
def stripe_backfill(generation: int) -> dict[str, object]:
    """One customer of the organization's Stripe backfill, then the next step queued in
    the same transaction (as metrics.tasks.backfill_health chains its days)."""
    more = services.stripe_backfill_step(generation)
    if more:
        enqueue_on_commit(stripe_backfill, current_organization().pk, generation)
    return {"generation": generation, "more": more}


@tenant_task(base=StripeTask)
def stripe_customer_sync(customer_id: str) -> bool:
    """Rebuild one Stripe customer's rows (after a webhook or the reconciliation)."""
    return services.stripe_customer_sync(customer_id)


@tenant_task(base=StripeTask)
def stripe_reconcile() -> dict[str, object] | None:
    """The nightly reconciliation of one organization (billing.services.stripe_reconcile)."""
    result = services.stripe_reconcile()
    if result is None:
        return None
    return {
        "events": result.events,
        "new": result.new,
        "customers": result.customers,
        "backfill_resumed": result.backfill_resumed,
    }


@shared_task(name="billing.tasks.stripe_reconcile_sweep")
def stripe_reconcile_sweep() -> int:
    """Nightly: one reconciliation per active organization (those not connected to Stripe
    return at once)."""
    return fan_out(stripe_reconcile)
