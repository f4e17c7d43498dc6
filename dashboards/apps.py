from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"

    def ready(self) -> None:
        # Defines the default benchmarks' stored-text keys, so every reader can render them.
        import dashboards.services  # noqa: F401
