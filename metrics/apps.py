from typing import Any

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self) -> None:
        from accounts.signals import revenue_changed
        from surveys.signals import responses_changed

        revenue_changed.connect(_revenue_changed, dispatch_uid="metrics.revenue_changed")
        responses_changed.connect(_responses_changed, dispatch_uid="metrics.responses_changed")


def _revenue_changed(sender: Any, *, since: Any, accounts: Any = None, **kwargs: Any) -> None:
    from metrics.services import metrics_mark_stale

    metrics_mark_stale(since=since, accounts=accounts)


def _responses_changed(sender: Any, **kwargs: Any) -> None:
    from metrics.services import satisfaction_mark_stale

    satisfaction_mark_stale()
