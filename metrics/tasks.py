from celery import shared_task

from csplatform.tasks import debounce_release, fan_out, tenant_task
from csplatform.tenancy import current_organization
from metrics import services
from metrics.satisfaction import satisfaction_recompute


@tenant_task()
def recompute_metrics(full: bool = False) -> dict[str, object]:
    """Bring the organization's stored metrics up to date (queued, debounced, on change)."""
    debounce_release(recompute_metrics, current_organization().pk)
    result = services.metrics_recompute(full=full)
    return {"months": result.months, "cohorts": result.cohorts, "skipped": result.skipped}


@tenant_task()
def recompute_metrics_full() -> dict[str, object]:
    """The nightly full recompute of one organization (new month, renewals now past)."""
    result = services.metrics_recompute(full=True)
    satisfaction = satisfaction_recompute()
    return {"months": result.months, "cohorts": result.cohorts, "satisfaction": satisfaction}


@tenant_task()
def recompute_satisfaction() -> int:
    """Bring the organization's NPS, CSAT and CES up to date (queued, debounced, on change)."""
    debounce_release(recompute_satisfaction, current_organization().pk)
    return satisfaction_recompute()


@shared_task(name="metrics.tasks.recompute_metrics_sweep")
def recompute_metrics_sweep() -> int:
    return fan_out(recompute_metrics_full)
