from celery import shared_task

from csplatform.tasks import fan_out, tenant_task
from journeys import rollups, todo_services


@tenant_task(debounced=True)
def roll_up_usage() -> int:
    """Count newly recorded events in the daily rollups (queued by ingestion, debounced)."""
    return rollups.usage_roll_up()


@shared_task(name="journeys.tasks.roll_up_usage_sweep")
def roll_up_usage_sweep() -> int:
    """A safety net: catch up any organization whose scheduled roll-up was lost."""
    return fan_out(roll_up_usage)


# Registered under its name from before the to-do model was renamed: outbox messages
# already stored name the task by this string (csplatform.outbox), and must still run.
@tenant_task(name="journeys.tasks.email_new_tasks")
def email_new_todos(todo_ids: list[int]) -> int:
    """Email the assignees of new playbook to-dos (queued by
    metrics.playbooks.playbooks_run_and_notify); returns the emails sent."""
    return todo_services.new_todos_email_send(todo_ids)


@shared_task(name="journeys.tasks.purge_usage_events", acks_late=True)
def purge_usage_events(organization_id: int) -> int:
    """Delete raw usage events older than the organization's retention, in batches
    (journeys.usage_purge); safe to repeat or kill halfway."""
    from journeys import usage_purge

    return usage_purge.usage_events_purge(organization_id)


@shared_task(name="journeys.tasks.purge_usage_events_sweep")
def purge_usage_events_sweep() -> int:
    """Nightly: one purge per active organization (those keeping events forever do nothing)."""
    return fan_out(purge_usage_events)
