from typing import Any

from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from accounts.signals import (
            contact_erasing,
            feedback_recorded,
            feedback_withdrawn,
            organization_created,
        )
        from journeys.imports import register_imports
        from journeys.segment_filters import segment_filters_register

        register_imports()
        segment_filters_register()
        contact_erasing.connect(_contact_erasing, dispatch_uid="journeys.contact_erasing")
        feedback_recorded.connect(_feedback_recorded, dispatch_uid="journeys.feedback_recorded")
        feedback_withdrawn.connect(_feedback_withdrawn, dispatch_uid="journeys.feedback_withdrawn")
        organization_created.connect(
            _organization_created, dispatch_uid="journeys.organization_created"
        )


def _organization_created(sender: Any, *, organization: Any, **kwargs: Any) -> None:
    """A new organization starts with the default journey (no page creates it on a GET)."""
    from csplatform.tenancy import tenant_context
    from journeys.services import lifecycle_stages_ensure

    with tenant_context(organization):
        lifecycle_stages_ensure()


def _contact_erasing(sender: Any, *, contact_ids: list[int], **kwargs: Any) -> dict[str, int]:
    from journeys.privacy import contact_touchpoints_anonymize

    return contact_touchpoints_anonymize(contact_ids=contact_ids)


def _feedback_recorded(sender: Any, *, feedback: Any, **kwargs: Any) -> None:
    from journeys.ingest import feedback_touchpoints_record

    feedback_touchpoints_record(feedback=feedback)


def _feedback_withdrawn(sender: Any, *, response_ids: list[int], **kwargs: Any) -> None:
    from journeys.ingest import feedback_touchpoints_delete

    feedback_touchpoints_delete(response_ids=response_ids)
