from celery import shared_task

from csplatform.tasks import fan_out, tenant_task
from dashboards import services


@tenant_task()
def send_executive_digest() -> int:
    """Email the organization's board viewers the last complete month's headline numbers,
    once per month (idempotent: a second run sends nothing); returns the emails sent."""
    return services.executive_digest_send()


@shared_task(name="dashboards.tasks.send_executive_digest_sweep")
def send_executive_digest_sweep() -> int:
    """One digest task per active organization; returns how many were queued."""
    return fan_out(send_executive_digest)
