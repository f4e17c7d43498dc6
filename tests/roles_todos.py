"""The URL catalogue's entries for tasks and playbooks (see tests/url_catalogue.py)."""

from datetime import timedelta

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from journeys.models import Playbook, Todo
from tests.factories import PlaybookFactory, TodoFactory

PLAYBOOK_FORM = {
    "name": "Renewal prep",
    "trigger": "renewal",
    "days": "60",
    "task_title": "Prepare the renewal",
    "due_in_days": "7",
}

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "todos:list": ("get", "manager", 200, None),
    "todos:complete": ("post", "manager", 302, {}),
    "todos:snooze": ("post", "manager", 302, None),  # data: a date after today
    "todos:playbooks": ("get", "admin", 200, None),
    "todos:playbook_create": ("post", "admin", 302, PLAYBOOK_FORM),
    "todos:playbook_defaults": ("post", "admin", 302, {}),
    "todos:playbook_edit": ("post", "admin", 302, {**PLAYBOOK_FORM, "name": "Renamed"}),
    "todos:playbook_toggle": ("post", "admin", 302, {}),
}


def _todo(team):
    with tenant_context(team.organization):
        return Todo.objects.filter(custom_title="Matrix task").first()


def _playbook_exists(team, **lookup):
    with tenant_context(team.organization):
        return Playbook.objects.filter(**lookup).exists()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {
    "todos:complete": lambda team: _todo(team).status == "done",
    "todos:snooze": lambda team: _todo(team).snoozed_until is not None,
    "todos:playbook_create": lambda team: _playbook_exists(team, custom_name="Renewal prep"),
    "todos:playbook_defaults": lambda team: _playbook_exists(team, trigger="band_drop"),
    "todos:playbook_edit": lambda team: _playbook_exists(team, custom_name="Renamed"),
    "todos:playbook_toggle": lambda team: _playbook_exists(
        team, custom_name="Matrix", is_active=False
    ),
}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name in {"todos:complete", "todos:snooze"}:
        with tenant_context(team.organization):
            return {"todo_id": TodoFactory(title="Matrix task").pk}
    if name in {"todos:playbook_edit", "todos:playbook_toggle"}:
        with tenant_context(team.organization):
            return {"playbook_id": PlaybookFactory(name="Matrix").pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    if name == "todos:snooze":
        return {"until": (organization_today(team.organization) + timedelta(days=5)).isoformat()}
    return data
