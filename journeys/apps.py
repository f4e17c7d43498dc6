from typing import Any

from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from accounts.signals import contact_erasing
        from journeys.imports import register_imports

        register_imports()
        contact_erasing.connect(_contact_erasing, dispatch_uid="journeys.contact_erasing")


def _contact_erasing(sender: Any, *, contact_ids: list[int], **kwargs: Any) -> dict[str, int]:
    from journeys.privacy import contact_touchpoints_anonymize

    return contact_touchpoints_anonymize(contact_ids=contact_ids)
