"""The URL catalogue's entries for the audit log page (see tests/url_catalogue.py)."""

from csplatform.tenancy import tenant_context
from tests.factories import AuditEventFactory

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "accounts:audit_log": ("get", "admin", 200, None),
}

# The page only reads.
EFFECTS: dict = {}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug; an entry is created so the table renders."""
    with tenant_context(team.organization):
        AuditEventFactory(actor=team.owner, actor_email=team.owner.email)
    return {}


def post_data(name, team, data):
    return data
