from typing import Any

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self) -> None:
        from accounts.signals import import_completed, revenue_changed
        from journeys.signals import activity_changed, value_definitions_changed
        from surveys.signals import responses_changed

        revenue_changed.connect(_revenue_changed, dispatch_uid="metrics.revenue_changed")
        responses_changed.connect(_responses_changed, dispatch_uid="metrics.responses_changed")
        import_completed.connect(_import_completed, dispatch_uid="metrics.import_completed")
        activity_changed.connect(_activity_changed, dispatch_uid="metrics.activity_changed")
        value_definitions_changed.connect(
            _activity_changed, dispatch_uid="metrics.value_definitions_changed"
        )
        from metrics.segment_filters import segment_filters_register

        segment_filters_register()
        # Defines the task reasons' and default playbooks' stored-text keys, so every
        # reader can render them.
        import metrics.playbooks  # noqa: F401


def _revenue_changed(sender: Any, *, since: Any, accounts: Any = None, **kwargs: Any) -> None:
    from metrics.services import metrics_mark_stale

    metrics_mark_stale(since=since, accounts=accounts)


def _responses_changed(sender: Any, **kwargs: Any) -> None:
    from metrics.services import satisfaction_mark_stale

    satisfaction_mark_stale()


def _activity_changed(sender: Any, **kwargs: Any) -> None:
    from metrics.services import health_mark_stale

    health_mark_stale()


def _import_completed(sender: Any, **kwargs: Any) -> None:
    from metrics.health.backfill import health_backfill_refresh

    health_backfill_refresh()
