"""The URL catalogue's entries for the privacy pages (see tests/url_catalogue.py)."""

from accounts.models import Contact
from csplatform.tenancy import tenant_context
from tests.factories import ContactFactory

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "accounts:privacy": ("post", "admin", 302, {"usage_event_retention_days": "90"}),
    "accounts:organization_export": ("post", "owner", 200, {}),
    "accounts:contact_erase": ("post", "admin", 302, {"email": "erase.me@customer.example"}),
}


def _retention_set(team):
    team.organization.refresh_from_db()
    return team.organization.usage_event_retention_days == 90


def _contact_erased(team):
    with tenant_context(team.organization):
        return not Contact.objects.filter(email="erase.me@customer.example").exists()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {"accounts:privacy": _retention_set, "accounts:contact_erase": _contact_erased}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name == "accounts:contact_erase":
        with tenant_context(team.organization):
            return {"contact_id": ContactFactory(email="erase.me@customer.example").pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    return data
