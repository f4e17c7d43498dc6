from typing import Any

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self) -> None:
        from accounts.signals import revenue_changed

        revenue_changed.connect(_revenue_changed, dispatch_uid="metrics.revenue_changed")


def _revenue_changed(sender: Any, *, since: Any, accounts: Any = None, **kwargs: Any) -> None:
    from metrics.services import metrics_mark_stale

    metrics_mark_stale(since=since, accounts=accounts)
