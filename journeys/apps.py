from typing import Any

from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from accounts.signals import organization_created
        from journeys.imports import register_imports

        register_imports()
        organization_created.connect(
            _organization_created, dispatch_uid="journeys.organization_created"
        )


def _organization_created(sender: Any, *, organization: Any, **kwargs: Any) -> None:
    """A new organization starts with the default journey (no page creates it on a GET)."""
    from csplatform.tenancy import tenant_context
    from journeys.services import lifecycle_stages_ensure

    with tenant_context(organization):
        lifecycle_stages_ensure()
