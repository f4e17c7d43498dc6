"""To-dos ("tasks" on screen): completing, snoozing, and telling the assignee about new
ones by email.

Playbooks open to-dos (metrics.playbooks); these are what people then do with them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from accounts.tenancy import current_organization
from csplatform.mail import email_build
from journeys.models import Playbook, Todo, TodoStatus


def todo_complete(*, todo: Todo, user: User) -> Todo:
    """Mark the task done, by `user`, now. Completing a done task changes nothing."""
    if todo.status == TodoStatus.DONE:
        return todo
    todo.status = TodoStatus.DONE
    todo.completed_at = timezone.now()
    todo.completed_by = user
    todo.snoozed_until = None
    todo.save(update_fields=["status", "completed_at", "completed_by", "snoozed_until"])
    return todo


def todo_snooze(*, todo: Todo, until: date, today: date) -> Todo:
    """Hide the open task from the list until `until` (a day after `today`)."""
    if todo.status != TodoStatus.OPEN:
        raise ValidationError(_("This task is done already: there is nothing to snooze."))
    if until <= today:
        raise ValidationError(_("Snooze until a day after today."))
    todo.snoozed_until = until
    todo.save(update_fields=["snoozed_until"])
    return todo


@transaction.atomic
def playbook_create(*, playbook: Playbook, fields: dict[str, Any], actor: User | None) -> Playbook:
    """Save the new (validated) playbook, audited as created by `actor` with the
    `fields` it was given."""
    playbook.save()
    _playbook_audit(AuditEvent.Action.PLAYBOOK_CREATED, playbook, actor, fields)
    return playbook


@transaction.atomic
def playbook_update(
    *, playbook: Playbook, changed: dict[str, dict[str, Any]], actor: User | None
) -> Playbook:
    """Save the (validated) playbook, audited as changed by `actor`: `changed` holds each
    changed field's old and new value."""
    playbook.save()
    _playbook_audit(AuditEvent.Action.PLAYBOOK_UPDATED, playbook, actor, {"changed": changed})
    return playbook


@transaction.atomic
def playbook_toggle(*, playbook: Playbook, actor: User | None = None) -> Playbook:
    """Activate the playbook, or pause it (its open tasks stay open), audited as done
    by `actor`."""
    playbook.is_active = not playbook.is_active
    playbook.save(update_fields=["is_active"])
    details = {"is_active": playbook.is_active}
    _playbook_audit(AuditEvent.Action.PLAYBOOK_TOGGLED, playbook, actor, details)
    return playbook


def _playbook_audit(
    action: str, playbook: Playbook, actor: User | None, details: dict[str, Any]
) -> None:
    audit_record(
        action, actor=actor, target=playbook.name_key or playbook.custom_name, details=details
    )


def todo_list_url() -> str:
    """The absolute address of the current organization's task list."""
    slug = current_organization().slug
    return settings.SITE_URL + reverse("todos:list", kwargs={"org_slug": slug})


def new_todos_email(assignee: User, todos: list[Todo]) -> EmailMultiAlternatives:
    """One email telling `assignee` about their new tasks (title, account, why, due
    date), with a link to the task list, in their language (else the organization's)."""
    organization = current_organization()
    return email_build(
        to=assignee.email,
        language=assignee.language or organization.default_locale or "en",
        subject=lambda: (
            ngettext(
                "%(organization)s: a new task for your accounts",
                "%(organization)s: %(count)s new tasks for your accounts",
                len(todos),
            )
            % {"organization": organization.name, "count": len(todos)}
        ),
        template="todos/email/new_todos",
        context={
            "organization": organization,
            "assignee": assignee,
            "todos": todos,
            "todos_url": todo_list_url(),
        },
    )


def new_todos_email_send(todo_ids: list[int]) -> int:
    """Email each assignee their tasks among `task_ids` that are still open and whose
    playbook emails the assignee: one email per assignee. Returns the emails sent.

    At least once: a worker lost after sending and before acknowledging sends again.
    """
    todos = (
        Todo.objects.filter(
            pk__in=todo_ids,
            status=TodoStatus.OPEN,
            playbook__email_assignee=True,
            assignee__isnull=False,
            assignee__is_active=True,
            # Still a member of the organization (memberships: the tenancy's own table).
            assignee__memberships__organization=current_organization(),
        )
        .select_related("account", "assignee", "playbook")
        .order_by("due_on", "pk")
    )
    by_assignee: dict[User, list[Todo]] = defaultdict(list)
    for todo in todos:
        if todo.assignee is not None:  # (filtered above)
            by_assignee[todo.assignee].append(todo)
    for assignee, assigned in by_assignee.items():
        new_todos_email(assignee, assigned).send()
    return len(by_assignee)
