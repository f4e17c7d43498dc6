"""The URL catalogue's entries for the account 360° page (see tests/url_catalogue.py)."""

from accounts.models import Note
from csplatform.tenancy import tenant_context
from tests.factories import AccountFactory

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "dashboards:account": ("get", "manager", 200, None),
    "dashboards:account_note": ("post", "manager", 302, {"body": "Matrix note"}),
}


def _note_exists(team):
    with tenant_context(team.organization):
        return Note.objects.filter(body="Matrix note").exists()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {"dashboards:account_note": _note_exists}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name in {"dashboards:account", "dashboards:account_note"}:
        with tenant_context(team.organization):
            return {"account_id": AccountFactory().pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    return data
