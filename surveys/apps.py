from typing import Any

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self) -> None:
        from accounts.signals import (
            contact_erasing,
            contact_erasure_previewing,
            segment_in_use,
        )
        from surveys.imports import register_imports

        register_imports()
        contact_erasing.connect(_contact_erasing, dispatch_uid="surveys.contact_erasing")
        contact_erasure_previewing.connect(
            _contact_erasure_previewing, dispatch_uid="surveys.contact_erasure_previewing"
        )
        segment_in_use.connect(_segment_in_use, dispatch_uid="surveys.segment_in_use")


def _segment_in_use(sender: Any, *, segment_id: int, **kwargs: Any) -> list[str]:
    from surveys.models import Campaign

    return list(Campaign.objects.filter(audience_id=segment_id).values_list("name", flat=True))


def _contact_erasing(sender: Any, *, contact_ids: list[int], **kwargs: Any) -> dict[str, int]:
    from surveys.privacy import contact_survey_rows_erase

    return contact_survey_rows_erase(contact_ids=contact_ids)


def _contact_erasure_previewing(
    sender: Any, *, contact_ids: list[int], **kwargs: Any
) -> dict[str, int]:
    from surveys.privacy import contact_survey_rows_count

    return contact_survey_rows_count(contact_ids=contact_ids)
