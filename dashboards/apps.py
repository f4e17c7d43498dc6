from typing import Any

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"

    def ready(self) -> None:
        # Defines the default benchmarks' stored-text keys, so every reader can render them.
        import dashboards.services  # noqa: F401
        from accounts.signals import organization_created

        organization_created.connect(
            _organization_created, dispatch_uid="dashboards.organization_created"
        )


def _organization_created(sender: Any, *, organization: Any, **kwargs: Any) -> None:
    """A new organization starts with the default benchmarks (no page creates them on a
    GET)."""
    from csplatform.tenancy import tenant_context
    from dashboards.services import benchmarks_ensure

    with tenant_context(organization):
        benchmarks_ensure()
