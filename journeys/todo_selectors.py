"""Reads for the to-do list ("Tasks" on screen) and the playbooks page."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from journeys.models import Playbook, Todo, TodoStatus


def todo_list(*, status: str, assignee: str, user: User, today: date) -> QuerySet[Todo]:
    """The current organization's tasks for the list.

    `status`: "open" (open and not snoozed past today; by due date), "snoozed" (open,
    hidden until a day after today; by that day) or "done" (latest first).
    `assignee`: "me" (`user`), "all", "none" (no assignee) or a user id.
    """
    todos = Todo.objects.select_related("account", "assignee", "playbook")
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today)
    if status == "done":
        todos = todos.filter(status=TodoStatus.DONE).order_by("-completed_at", "-pk")
    elif status == "snoozed":
        todos = (
            todos.filter(status=TodoStatus.OPEN)
            .exclude(awake)
            .order_by("snoozed_until", "due_on", "pk")
        )
    else:
        todos = todos.filter(awake, status=TodoStatus.OPEN).order_by("due_on", "pk")
    if assignee == "me":
        todos = todos.filter(assignee=user)
    elif assignee == "none":
        todos = todos.filter(assignee__isnull=True)
    elif assignee.isdigit():
        todos = todos.filter(assignee_id=int(assignee))
    return todos


def playbook_list() -> list[Playbook]:
    """The current organization's playbooks by name (as the reader sees it: a default's
    name is in their language), each with `open_tasks`: how many of the tasks it opened
    are open (snoozed ones included)."""
    open_tasks = (
        Todo.objects.filter(playbook=OuterRef("pk"), status=TodoStatus.OPEN)
        .order_by()
        .values("playbook")
        .annotate(n=Count("pk"))
        .values("n")
    )
    playbooks = Playbook.objects.annotate(
        open_tasks=Coalesce(Subquery(open_tasks, output_field=IntegerField()), Value(0))
    )
    return sorted(playbooks, key=lambda playbook: playbook.name.casefold())
