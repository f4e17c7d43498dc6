"""Writes of saved segments (accounts.models.Segment): create, edit, delete. The filters
are validated by accounts.segments.filters_clean; a bad name or filter is a
ValidationError naming its field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from accounts.models import AuditEvent, Segment, User
from accounts.segments import filters_clean
from accounts.signals import segment_in_use


def _name_clean(name: str, *, segment: Segment | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the segment a name.")})
    if len(name) > 200:
        raise ValidationError({"name": _("At most 200 characters.")})
    others = Segment.objects.filter(name=name)
    if segment is not None:
        others = others.exclude(pk=segment.pk)
    if others.exists():
        raise ValidationError(
            {"name": _("A segment named “%(name)s” exists already.") % {"name": name}}
        )
    return name


@transaction.atomic
def segment_create(*, name: str, filters: Any, actor: User | None) -> Segment:
    """A new saved segment of the current organization, created by `actor`. Audited: a
    segment decides who a campaign emails."""
    segment = Segment(name=_name_clean(name), filters=filters_clean(filters), created_by=actor)
    segment.save()
    audit_record(
        AuditEvent.Action.SEGMENT_CREATED,
        actor=actor,
        target=segment.name,
        details={"filters": segment.filters},
    )
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, name: str, filters: Any, actor: User | None) -> Segment:
    """Rename the segment and replace its filters."""
    before = {"name": segment.name, "filters": segment.filters}
    segment.name = _name_clean(name, segment=segment)
    segment.filters = filters_clean(filters)
    segment.save(update_fields=["name", "filters", "updated_at"])
    audit_record(
        AuditEvent.Action.SEGMENT_UPDATED,
        actor=actor,
        target=segment.name,
        details={"before": before, "filters": segment.filters},
    )
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment, actor: User | None) -> None:
    """Delete the segment, unless something uses it (a campaign's audience): then a
    ValidationError names what does. The row is locked first: a campaign being saved
    with it as audience (which locks it too) is then either committed and named here,
    or waits and finds it gone."""
    Segment.objects.select_for_update().filter(pk=segment.pk).first()
    users = [
        name
        for _receiver, names in segment_in_use.send(sender=Segment, segment_id=segment.pk)
        for name in names or []
    ]
    if users:
        raise ValidationError(
            _("“%(name)s” is the audience of %(users)s: choose another audience there first.")
            % {"name": segment.name, "users": ", ".join(f"“{n}”" for n in sorted(users))}
        )
    audit_record(
        AuditEvent.Action.SEGMENT_DELETED,
        actor=actor,
        target=segment.name,
        details={"filters": segment.filters},
    )
    segment.delete()
