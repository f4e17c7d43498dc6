"""The URL catalogue's entries for saved segments (see tests/url_catalogue.py)."""

from accounts.models import Segment
from csplatform.tenancy import tenant_context
from tests.factories import SegmentFactory

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "dashboards:segment_create": (
        "post",
        "manager",
        302,
        {"name": "Matrix segment", "segment": "", "customer": "customer"},
    ),
    # Its creator or an admin: the matrix's segment has no creator, so admin and up.
    "dashboards:segment_edit": ("get", "admin", 200, None),
    "dashboards:segment_delete": ("post", "admin", 302, {}),
}


def _segment_exists(team, **lookup):
    with tenant_context(team.organization):
        return Segment.objects.filter(**lookup).exists()


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {
    "dashboards:segment_create": lambda team: _segment_exists(team, name="Matrix segment"),
    "dashboards:segment_delete": lambda team: not _segment_exists(team, name="Matrix doomed"),
}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name in {"dashboards:segment_edit", "dashboards:segment_delete"}:
        with tenant_context(team.organization):
            return {"segment_id": SegmentFactory(name="Matrix doomed").pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    return data
