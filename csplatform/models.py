"""The transactional outbox: follow-up work recorded in the same transaction as the change.

A change that needs a Celery task afterwards (a recompute, an email) writes an
`OutboxMessage` in its own transaction, then publishes the task once it commits. The
task deletes its message in the transaction that does the work. So whatever is lost
on the way (Redis stopped, a queue wiped, a worker killed), the message is still
there, and `csplatform.outbox.outbox_relay` publishes it again once it is overdue.
Tasks are idempotent, so a message published twice does its work once.
"""

from django.db import models
from django.utils import timezone

from csplatform.tenancy import TenantModel


class OutboxMessage(TenantModel):
    """A task to run for the organization, kept until a run of it commits.

    `debounced` messages stand for "this task has work waiting": a burst of them is one
    run, which deletes every one recorded before it started. Others are one run each,
    with their own arguments. A message whose runs keep failing (or being killed) is
    given up after OUTBOX_MAX_DELIVERIES of them: kept, with `given_up_at`, for the
    operator, and never published again (docs/operations.md).
    """

    id = models.BigAutoField(primary_key=True)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    debounced = models.BooleanField(default=False)
    run_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)  # relays (csplatform.outbox)
    # Runs started for it: a run killed mid-way (out of memory) still counts, so a
    # message that kills its worker stops after OUTBOX_MAX_DELIVERIES runs.
    deliveries = models.PositiveSmallIntegerField(default=0)
    given_up_at = models.DateTimeField(null=True, blank=True)  # kept, never run again
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "task", "id"], name="outbox_org_task_id"),
            models.Index(fields=["organization", "run_after"], name="outbox_org_run_after"),
        ]

    def __str__(self) -> str:
        return f"{self.task}{self.args} after {self.run_after:%Y-%m-%d %H:%M:%S}"
