"""Every URL pattern of the application, found by walking the resolver, and how to
fill each pattern's arguments with real objects of an organization.

Shared by tests/test_cross_tenant_access.py and tests/test_csrf.py. A pattern
whose argument is missing from ORG_URL_KWARGS or API_DETAIL_ROUTES fails
test_cross_tenant_access.py::test_it_knows_how_to_fill_every_url: add a filler
here (and, if needed, the object to `objects_of`).
"""

from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import services as account_services
from accounts.models import Role
from csplatform.tenancy import tenant_context
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    CoreFeatureFactory,
    ImportUploadFactory,
    InvitationFactory,
    LifecycleStageFactory,
    MembershipFactory,
    PlaybookFactory,
    SubscriptionFactory,
    SurveyFactory,
    TaskFactory,
    TouchpointFactory,
    TouchpointTypeFactory,
    UserFactory,
    ValueMilestoneFactory,
)

MISSING_INT = 2_000_000_000
MISSING_STR = "no-such-object"

# --- the URL patterns -------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    kwargs: tuple[str, ...] = field(default=())
    view: object = field(default=None, compare=False, repr=False)


def _walk(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, route, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            kwargs = tuple(sorted(pattern.pattern.regex.groupindex))
            yield Route(name=name, route=route, kwargs=kwargs, view=pattern.callback)


ROUTES = list(_walk())
ORG_ROUTES = [r for r in ROUTES if r.route.startswith("o/<slug:org_slug>/")]
API_ROUTES = [r for r in ROUTES if r.route.startswith("api/v1/")]


# --- one object of each kind a URL can name -------------------------


def objects_of(organization, marker: str) -> dict:
    """One object of every kind a URL names, in `organization`, all named after `marker`."""
    title = marker.title()
    owner = UserFactory(email=f"owner@{marker}.example", full_name=f"{title} Owner")
    membership = MembershipFactory(organization=organization, user=owner, role=Role.OWNER)
    with tenant_context(organization):
        account = AccountFactory(name=f"{title} Account", external_id=f"{marker}-account")
        contact = ContactFactory(
            account=account, name=f"{title} Contact", email=f"buyer@{marker}.example"
        )
        api_key, _key = account_services.api_key_create(name=f"{title} key", created_by=owner)
        return {
            "membership": membership,
            "account": account,
            "contact": contact,
            "subscription": SubscriptionFactory(account=account, external_id=f"{marker}-sub"),
            "touchpoint": TouchpointFactory(
                account=account,
                type=TouchpointTypeFactory(name=f"{title} call"),
                notes=f"{title} touchpoint",
            ),
            "touchpoint_type": TouchpointTypeFactory(name=f"{title} onboarding"),
            "upload": ImportUploadFactory(filename=f"{marker}.csv"),
            "api_key": api_key,
            "invitation": InvitationFactory(email=f"invitee@{marker}.example"),
            "campaign": CampaignFactory(
                name=f"{title} campaign", survey=SurveyFactory(name=f"{title} survey")
            ),
            "stage": LifecycleStageFactory(
                key=f"{marker}-stage", name_en=f"{title} stage", name_pt_br=f"{title} etapa"
            ),
            "milestone": ValueMilestoneFactory(
                event_name=f"{marker}.milestone", name=f"{title} milestone"
            ),
            "core_feature": CoreFeatureFactory(feature=f"{marker}.feature"),
            "task": TaskFactory(account=account, title=f"{title} task"),
            "playbook": PlaybookFactory(name=f"{title} playbook", task_title=f"{title} follow-up"),
        }


# URL argument under /o/<org_slug>/ -> the object it names (from objects_of).
ORG_URL_KWARGS = {
    "account_id": lambda o: o["account"].pk,
    "membership_id": lambda o: o["membership"].pk,
    "upload_id": lambda o: o["upload"].pk,
    "api_key_id": lambda o: o["api_key"].pk,
    "invitation_id": lambda o: o["invitation"].pk,
    "contact_id": lambda o: o["contact"].pk,
    "campaign_id": lambda o: o["campaign"].pk,
    "stage_id": lambda o: o["stage"].pk,
    "type_id": lambda o: o["touchpoint_type"].pk,
    "milestone_id": lambda o: o["milestone"].pk,
    "feature_id": lambda o: o["core_feature"].pk,
    "task_id": lambda o: o["task"].pk,
    "playbook_id": lambda o: o["playbook"].pk,
}

# API route with an argument -> (argument, the object it names).
API_DETAIL_ROUTES = {
    "api:account-detail": ("external_id", lambda o: o["account"].external_id),
    "api:contact-detail": ("pk", lambda o: o["contact"].pk),
    "api:contact-erase": ("pk", lambda o: o["contact"].pk),
    "api:subscription-detail": ("external_id", lambda o: o["subscription"].external_id),
    "api:touchpoint-detail": ("pk", lambda o: o["touchpoint"].pk),
}

ORG_ROUTES_WITH_IDS = [r for r in ORG_ROUTES if set(r.kwargs) - {"org_slug"}]
API_ROUTES_WITH_IDS = [r for r in API_ROUTES if r.kwargs]


def org_url(route: Route, objects: dict, *, org_slug: str, missing: bool = False) -> str:
    """`route` under /o/<org_slug>/ naming `objects` (or ids that exist nowhere)."""
    kwargs: dict = {"org_slug": org_slug}
    for name in route.kwargs:
        if name != "org_slug":
            value = ORG_URL_KWARGS[name](objects)
            if missing:
                value = MISSING_INT if isinstance(value, int) else MISSING_STR
            kwargs[name] = value
    return reverse(route.name, kwargs=kwargs)
