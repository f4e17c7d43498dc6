"""Every periodic job, in one place. Times are UTC.

A sweep takes no organization: it fans out one task per active organization,
so one slow tenant never holds up the others.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Follow-up work (recomputes, emails) whose task was lost or never queued, say
    # while Redis was down: queued again from the outbox (csplatform.outbox).
    "relay-outbox": {
        "task": "csplatform.tasks.outbox_relay_sweep",
        "schedule": crontab(minute="*"),
    },
    # CSV uploads never imported hold customer data: emptied a day after their upload
    # (hourly, so none outlives it by more than an hour).
    "purge-unconfirmed-uploads": {
        "task": "accounts.tasks.purge_unconfirmed_uploads_sweep",
        "schedule": crontab(minute="23"),
    },
    "purge-stale-invitations": {
        "task": "accounts.tasks.purge_stale_invitations_sweep",
        "schedule": crontab(hour="3", minute="17"),
    },
    # Every organization's metrics, from scratch: a new month begins, renewals become past.
    # Changes during the day are recomputed minutes after they happen.
    "recompute-metrics": {
        "task": "metrics.tasks.recompute_metrics_sweep",
        "schedule": crontab(hour="2", minute="5"),
    },
    # Survey campaigns whose scheduled or recurring send has come, and reminders due.
    "send-due-surveys": {
        "task": "surveys.tasks.send_due_campaigns_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Ingestion queues each write's roll-up itself; this only catches lost ones.
    "roll-up-usage": {
        "task": "journeys.tasks.roll_up_usage_sweep",
        "schedule": crontab(minute="*/10"),
    },
    # The board's monthly email: last month's headline numbers, once its metrics were
    # recomputed after the month ended. Daily, so a failed day is retried the next; each
    # organization's month is sent once (dashboards.services.executive_digest_send).
    "send-executive-digest": {
        "task": "dashboards.tasks.send_executive_digest_sweep",
        "schedule": crontab(hour="8", minute="0"),
    },
    # Raw usage events past an organization's retention (accounts.Organization.
    # usage_event_retention_days), once counted in the daily rollups.
    "purge-usage-events": {
        "task": "journeys.tasks.purge_usage_events_sweep",
        "schedule": crontab(hour="3", minute="41"),
    },
    # Stripe's events since the last one read, per connected organization: repairs what
    # a missed webhook left behind, and resumes a backfill whose retries were given up.
    # Before the nightly metrics recompute, which then sees the repaired history.
    "reconcile-stripe": {
        "task": "billing.tasks.stripe_reconcile_sweep",
        "schedule": crontab(hour="1", minute="35"),
    },
}
