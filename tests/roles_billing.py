"""The URL catalogue's entries for the Connections page (see tests/url_catalogue.py)."""

from billing.models import StripeConnection
from csplatform.tenancy import tenant_context
from tests.factories import StripeConnectionFactory
from tests.localstripe import localstripe_url

# url name -> (method, minimum role, status when allowed, POST data)
ORG_VIEWS: dict[str, tuple[str, str, int, dict | None]] = {
    "billing:connections": ("get", "admin", 200, None),
    "billing:stripe_connect": ("post", "admin", 302, {"key": "sk_test_matrixkey00001234"}),
    "billing:stripe_webhook_secret": ("post", "admin", 302, {"secret": "whsec_matrixsecret0001"}),
    "billing:stripe_disconnect": ("post", "admin", 302, {}),
}


def _connection(team):
    with tenant_context(team.organization):
        return StripeConnection.objects.first()


EFFECTS: dict = {
    "billing:stripe_connect": lambda team: _connection(team) is not None,
    "billing:stripe_webhook_secret": lambda team: bool(_connection(team).webhook_secret),
    "billing:stripe_disconnect": lambda team: _connection(team) is None,
}


def url_kwargs(name, team):
    """No URL arguments; the objects each POST needs are made here: a fake Stripe that
    accepts the key, a connection to set the secret of or to disconnect."""
    if name == "billing:stripe_connect":
        localstripe_url()
    elif name in {"billing:stripe_webhook_secret", "billing:stripe_disconnect"}:
        with tenant_context(team.organization):
            if not StripeConnection.objects.exists():
                StripeConnectionFactory()
    return {}


def post_data(name, team, data):
    return data
