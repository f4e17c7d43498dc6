"""The URL catalogue's entries for tasks and playbooks (see tests/url_catalogue.py)."""

from datetime import timedelta

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from journeys.models import Playbook, Task
from tests.factories import PlaybookFactory, TaskFactory

PLAYBOOK_FORM = {
    "name": "Renewal prep",
    "trigger": "renewal",
    "days": "60",
    "task_title": "Prepare the renewal",
    "due_in_days": "7",
}

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "tasks:list": ("get", "manager", 200, None),
    "tasks:complete": ("post", "manager", 302, {}),
    "tasks:snooze": ("post", "manager", 302, None),  # data: a date after today
    "tasks:playbooks": ("get", "admin", 200, None),
    "tasks:playbook_create": ("post", "admin", 302, PLAYBOOK_FORM),
    "tasks:playbook_defaults": ("post", "admin", 302, {}),
    "tasks:playbook_edit": ("post", "admin", 302, {**PLAYBOOK_FORM, "name": "Renamed"}),
    "tasks:playbook_toggle": ("post", "admin", 302, {}),
}


def _task(team):
    with tenant_context(team.organization):
        return Task.objects.filter(custom_title="Matrix task").first()


def _playbook_exists(team, **lookup):
    with tenant_context(team.organization):
        return Playbook.objects.filter(**lookup).exists()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {
    "tasks:complete": lambda team: _task(team).status == "done",
    "tasks:snooze": lambda team: _task(team).snoozed_until is not None,
    "tasks:playbook_create": lambda team: _playbook_exists(team, custom_name="Renewal prep"),
    "tasks:playbook_defaults": lambda team: _playbook_exists(team, trigger="band_drop"),
    "tasks:playbook_edit": lambda team: _playbook_exists(team, custom_name="Renamed"),
    "tasks:playbook_toggle": lambda team: _playbook_exists(
        team, custom_name="Matrix", is_active=False
    ),
}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name in {"tasks:complete", "tasks:snooze"}:
        with tenant_context(team.organization):
            return {"task_id": TaskFactory(title="Matrix task").pk}
    if name in {"tasks:playbook_edit", "tasks:playbook_toggle"}:
        with tenant_context(team.organization):
            return {"playbook_id": PlaybookFactory(name="Matrix").pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    if name == "tasks:snooze":
        return {"until": (organization_today(team.organization) + timedelta(days=5)).isoformat()}
    return data
