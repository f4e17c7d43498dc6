"""The segment filter journeys contributes (registered in JourneysConfig.ready): the
account's lifecycle stage, one of the organization's stage keys or "none". See
accounts.segments."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account
from accounts.segments import SegmentContext, segment_filter_register
from journeys.models import LifecycleStage

NO_STAGE = "none"


def _clean_stage(value: Any) -> str:
    if value == NO_STAGE:
        return NO_STAGE
    if not isinstance(value, str) or not LifecycleStage.objects.filter(key=value).exists():
        raise ValidationError(_("“%(value)s” is not a lifecycle stage.") % {"value": value})
    return value


def _apply_stage(accounts: QuerySet[Account], stage: str, ctx: SegmentContext) -> QuerySet[Account]:
    return accounts.filter(lifecycle_stage="" if stage == NO_STAGE else stage)


def segment_filters_register() -> None:
    segment_filter_register("stage", clean=_clean_stage, apply=_apply_stage)
