"""The URL catalogue's entries for the health pages (see tests/url_catalogue.py)."""

from csplatform.tenancy import tenant_context
from metrics.models import HealthModel
from tests.factories import AccountFactory

MODEL_FORM = {
    "action": "save",
    "healthy_from": 75,
    "at_risk_below": 40,
    "adoption_threshold": 2,
    "weight_engagement": 50,
    "weight_adoption": 0,
    "weight_satisfaction": 50,
    "weight_revenue_trend": 0,
    "weight_support_load": 0,
    "weight_outcomes": 0,
    "weight_renewal_proximity": 0,
    "engagement_frequency": 40,
    "engagement_breadth": 30,
    "engagement_depth": 30,
}

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "dashboards:health": ("get", "manager", 200, None),
    "dashboards:account_health": ("get", "manager", 200, None),
    "dashboards:health_model": ("post", "admin", 302, MODEL_FORM),
    # Read only for managers: an admin also gets the controls to try other weights.
    "dashboards:health_backtest": ("get", "manager", 200, None),
}


def _healthy_from(team):
    with tenant_context(team.organization):
        stored = HealthModel.objects.first()
        return None if stored is None else stored.healthy_from


# What each POST changes, read back from the database: True once it took effect.
EFFECTS: dict = {"dashboards:health_model": lambda team: _healthy_from(team) == 75}


def url_kwargs(name, team):
    """The URL's arguments besides org_slug (objects it needs are created here)."""
    if name == "dashboards:account_health":
        with tenant_context(team.organization):
            return {"account_id": AccountFactory().pk}
    return {}


def post_data(name, team, data):
    """The POST data, when it depends on objects created for the test."""
    return data
