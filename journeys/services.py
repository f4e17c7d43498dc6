"""Writes on the journey: lifecycle stages, the accounts in them, value milestones and
core features.

Each service is keyword-only, runs in one transaction in the current organization,
and assumes the caller checked the actor's role (views do, with accounts.permissions).
Stage transitions are not written here: a trigger on accounts_account records every
change of `Account.lifecycle_stage`, whatever wrote it (journeys/migrations/0008).
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.audit import audit_record
from accounts.models import Account, AuditEvent, User
from csplatform.clock import database_now
from journeys.models import CoreFeature, LifecycleStage, TouchpointType, ValueMilestone
from journeys.signals import value_definitions_changed

# (key, English name, Brazilian Portuguese name), in journey order. The names are the
# organization's data (an admin renames them), so they are stored, not translated.
DEFAULT_LIFECYCLE_STAGES = [
    ("onboarding", "Onboarding", "Implantação"),
    ("adoption", "Adoption", "Adoção"),
    ("retention", "Retention", "Retenção"),
    ("expansion", "Expansion", "Expansão"),
    ("advocacy", "Advocacy", "Defesa da marca"),
]

# The transaction-local setting the stage-history trigger reads `changed_by` from.
USER_SETTING = "app.user_id"


def lifecycle_stages_ensure() -> list[LifecycleStage]:
    """Give the current organization the default stages if it has none; return its
    stages in journey order.

    Safe to call on every page and from two requests at once: the insert is
    `ON CONFLICT DO NOTHING` on the (organization, key) constraint, so the second
    request inserts nothing and reads the first one's stages.
    """
    stages = list(LifecycleStage.objects.order_by("position", "id"))
    if stages:
        return stages
    LifecycleStage.objects.bulk_create(
        [
            LifecycleStage(key=key, name_en=name_en, name_pt_br=name_pt_br, position=position)
            for position, (key, name_en, name_pt_br) in enumerate(DEFAULT_LIFECYCLE_STAGES)
        ],
        ignore_conflicts=True,
    )
    return list(LifecycleStage.objects.order_by("position", "id"))


@transaction.atomic
def lifecycle_stage_create(
    *, key: str, name_en: str, name_pt_br: str, actor: User | None = None
) -> LifecycleStage:
    """Add a stage at the end of the journey, audited as done by `actor` (None: an
    operator). Raises ValidationError naming `key` when the organization has a stage with
    that key already."""
    positions = dict(LifecycleStage.objects.select_for_update().values_list("key", "position"))
    duplicate = ValidationError(
        {"key": _("A stage with the key “%(key)s” exists already.") % {"key": key}}
    )
    if key in positions:
        raise duplicate
    stage = LifecycleStage(
        key=key,
        name_en=name_en,
        name_pt_br=name_pt_br,
        position=max(positions.values(), default=-1) + 1,
    )
    stage.full_clean(exclude=["organization"])
    _save_unique(stage, duplicate)
    audit_record(
        AuditEvent.Action.STAGE_CREATED,
        actor=actor,
        target=stage.key,
        details={"name_en": stage.name_en, "name_pt_br": stage.name_pt_br},
    )
    return stage


@transaction.atomic
def lifecycle_stage_rename(
    *, stage: LifecycleStage, name_en: str, name_pt_br: str, actor: User | None = None
) -> None:
    """Change a stage's names, audited as done by `actor`; its key, which accounts and
    touchpoint types hold, stays."""
    old_names = {"name_en": stage.name_en, "name_pt_br": stage.name_pt_br}
    stage.name_en, stage.name_pt_br = name_en, name_pt_br
    stage.full_clean(exclude=["organization"])
    stage.save(update_fields=["name_en", "name_pt_br"])
    audit_record(
        AuditEvent.Action.STAGE_UPDATED,
        actor=actor,
        target=stage.key,
        details={
            "changed": {
                field: {"old": old, "new": getattr(stage, field)}
                for field, old in old_names.items()
                if old != getattr(stage, field)
            }
        },
    )


@transaction.atomic
def lifecycle_stage_move(
    *, stage: LifecycleStage, direction: Literal["up", "down"], actor: User | None = None
) -> bool:
    """Swap the stage with its neighbour before (`up`) or after (`down`) it; positions are
    renumbered 0…n−1. Returns False when it is already first (or last). The request is
    audited as done by `actor` either way (what the admin asked for)."""
    audit_record(
        AuditEvent.Action.STAGE_UPDATED, actor=actor, target=stage.key, details={"moved": direction}
    )
    stages = list(LifecycleStage.objects.select_for_update().order_by("position", "id"))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(stages):
        return False
    stages[index], stages[other] = stages[other], stages[index]
    for position, each in enumerate(stages):
        each.position = position
    LifecycleStage.objects.bulk_update(stages, ["position"])
    return True


@transaction.atomic
def lifecycle_stage_delete(*, stage: LifecycleStage, actor: User | None = None) -> None:
    """Delete a stage no account is in, audited as done by `actor`; touchpoint types
    placed on it become unplaced.

    Raises ValidationError saying how many accounts are in it, or that it is the
    organization's last stage (the journey keeps at least one). Its past transitions
    stay in the history under its key.
    """
    # Locked against account_stage_change, which moves accounts only into existing stages.
    stage = LifecycleStage.objects.select_for_update().get(pk=stage.pk)
    accounts = Account.objects.filter(lifecycle_stage=stage.key).count()
    if accounts:
        raise ValidationError(
            ngettext(
                "“%(name)s” cannot be deleted: %(count)s account is in it. Move it to "
                "another stage first.",
                "“%(name)s” cannot be deleted: %(count)s accounts are in it. Move them to "
                "another stage first.",
                accounts,
            )
            % {"name": stage.name_en, "count": accounts},
            code="in_use",
        )
    if not LifecycleStage.objects.exclude(pk=stage.pk).exists():
        raise ValidationError(
            _("“%(name)s” is the last stage of the journey: add another before deleting it.")
            % {"name": stage.name_en},
            code="last",
        )
    TouchpointType.objects.filter(lifecycle_stage=stage.key).update(lifecycle_stage="")
    stage.delete()
    audit_record(AuditEvent.Action.STAGE_DELETED, actor=actor, target=stage.key)


def _stage_key_check(stage_key: str, *, field: str) -> None:
    # FOR NO KEY UPDATE: conflicts with lifecycle_stage_delete's FOR UPDATE, not with another move.
    if not LifecycleStage.objects.select_for_update(no_key=True).filter(key=stage_key).exists():
        raise ValidationError(
            {field: _("“%(key)s” is not a stage of this journey.") % {"key": stage_key}}
        )


@transaction.atomic
def account_stage_change(*, account: Account, stage_key: str, by: User | None) -> bool:
    """Move the account to the stage `stage_key`, recording `by` as who did it.

    The trigger on accounts_account writes the StageTransition (from, to, now, by;
    now is Django's, through csplatform.clock.database_now);
    `by` reaches it through the transaction-local setting `app.user_id`, cleared
    again right after. Returns False when the account was in that stage already.
    Raises ValidationError (field `stage`) for a key that is not one of the stages.
    """
    _stage_key_check(stage_key, field="stage")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true)",
            [USER_SETTING, "" if by is None else str(by.pk)],
        )
        try:
            with database_now():
                changed = (
                    Account.objects.filter(pk=account.pk)
                    .exclude(lifecycle_stage=stage_key)
                    .update(lifecycle_stage=stage_key, updated_at=timezone.now())
                )
        finally:
            # A released savepoint keeps a SET LOCAL: later writes in this transaction
            # (another service, an import) must not be put down to this user.
            cursor.execute("SELECT set_config(%s, '', true)", [USER_SETTING])
    account.lifecycle_stage = stage_key
    return bool(changed)


@transaction.atomic
def touchpoint_type_place(
    *, touchpoint_type: TouchpointType, stage_key: str, actor: User | None = None
) -> None:
    """Place a touchpoint type on a stage of the journey map (`""`: on none), audited as
    done by `actor`."""
    if stage_key:
        _stage_key_check(stage_key, field="lifecycle_stage")
    touchpoint_type.lifecycle_stage = stage_key
    touchpoint_type.save(update_fields=["lifecycle_stage"])
    audit_record(
        AuditEvent.Action.TOUCHPOINT_PLACED,
        actor=actor,
        target=touchpoint_type.name,
        details={"stage": stage_key or None},
    )


@transaction.atomic
def value_milestone_create(
    *, event_name: str, name: str, actor: User | None = None
) -> ValueMilestone:
    """Make the usage event `event_name` a value milestone, audited as done by `actor`.
    Raises ValidationError naming `event_name` when it is one already."""
    duplicate = ValidationError(
        {"event_name": _("“%(event)s” is a value milestone already.") % {"event": event_name}}
    )
    if ValueMilestone.objects.filter(event_name=event_name).exists():
        raise duplicate
    milestone = ValueMilestone(event_name=event_name, name=name)
    milestone.full_clean(exclude=["organization"])
    _save_unique(milestone, duplicate)
    _value_settings_audit(actor, milestone.name, milestone_added=milestone.event_name)
    _definitions_changed()
    return milestone


@transaction.atomic
def value_milestone_delete(*, milestone: ValueMilestone, actor: User | None = None) -> None:
    """Stop counting the milestone's event as value (time to value is recomputed),
    audited as done by `actor`."""
    milestone.delete()
    _value_settings_audit(actor, milestone.name, milestone_deleted=milestone.event_name)
    _definitions_changed()


@transaction.atomic
def core_feature_create(*, feature: str, actor: User | None = None) -> CoreFeature:
    """Count the usage event `feature` towards adoption, audited as done by `actor`.
    Raises ValidationError naming `feature` when it is a core feature already."""
    duplicate = ValidationError(
        {"feature": _("“%(feature)s” is a core feature already.") % {"feature": feature}}
    )
    if CoreFeature.objects.filter(feature=feature).exists():
        raise duplicate
    core_feature = CoreFeature(feature=feature)
    core_feature.full_clean(exclude=["organization"])
    _save_unique(core_feature, duplicate)
    _value_settings_audit(actor, str(core_feature), core_feature_added=str(core_feature))
    _definitions_changed()
    return core_feature


@transaction.atomic
def core_feature_delete(*, core_feature: CoreFeature, actor: User | None = None) -> None:
    """Stop counting the feature towards adoption (adoption is recomputed), audited as
    done by `actor`."""
    core_feature.delete()
    _value_settings_audit(actor, str(core_feature), core_feature_deleted=str(core_feature))
    _definitions_changed()


def _save_unique(obj: Model, duplicate: ValidationError) -> None:
    """Save `obj`, turning a unique-constraint race (the same key saved by someone else
    since we looked) into the same error as when we saw it."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise duplicate from None


def _value_settings_audit(actor: User | None, target: str, **details: str) -> None:
    audit_record(
        AuditEvent.Action.VALUE_SETTINGS_UPDATED, actor=actor, target=target, details=details
    )


def _definitions_changed() -> None:
    value_definitions_changed.send(sender=None)
