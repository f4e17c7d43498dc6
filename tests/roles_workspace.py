"""The URL catalogue's entries for the workspace, the accounts list and search
(tests/url_catalogue.py)."""

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "dashboards:home": ("get", "viewer", 200, None),  # viewers land on the executive page
    "dashboards:accounts": ("get", "manager", 200, None),
    "dashboards:accounts_csv": ("get", "manager", 200, None),
    "dashboards:search": ("get", "manager", 200, None),  # as the accounts list
}

# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    return data
