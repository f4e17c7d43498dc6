"""The URL catalogue: every URL of the application, found by walking the resolver once,
and what the tests know about each URL name: its family, its fillers (how to fill its
arguments with an organization's objects), the methods it takes and, under
/o/<org_slug>/, the lowest role that may use it.

One source for the three matrices that try every URL:
- tests/test_views_roles.py: owner / admin / manager / viewer / outsider / anonymous;
- tests/test_cross_tenant_access.py: another organization's ids, slug and keys;
- tests/test_csrf.py: a POST without a CSRF token.

Under /o/<org_slug>/ each family of pages keeps its entries in tests/roles_<family>.py
(ORG_VIEWS, EFFECTS, url_kwargs, post_data), found as FAMILIES; the API and the pages
outside an organization are listed here (API_URLS, SITE_URLS). A URL without an entry
fails tests/test_cross_tenant_access.py::test_it_has_a_catalogue_entry_for_every_url;
an argument without a filler fails ::test_it_knows_how_to_fill_every_url: add a filler
to ORG_URL_KWARGS or API_URLS (and, if needed, the object to `objects_of`).
"""

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from accounts import services as account_services
from accounts.models import Role
from csplatform.tenancy import tenant_context
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    CoreFeatureFactory,
    ImportUploadFactory,
    LifecycleStageFactory,
    MemberInvitationFactory,
    MembershipFactory,
    PlaybookFactory,
    SegmentFactory,
    SubscriptionFactory,
    SurveyFactory,
    TodoFactory,
    TouchpointFactory,
    TouchpointTypeFactory,
    UserFactory,
    ValueMilestoneFactory,
)

MISSING_INT = 2_000_000_000
MISSING_STR = "no-such-object"
NOT_A_TOKEN = "not-a-real-token"

# --- the URL patterns: one walk of the resolver ---------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    kwargs: tuple[str, ...] = field(default=())
    view: object = field(default=None, compare=False, repr=False)

    @property
    def in_organization(self) -> bool:
        """Under /o/<org_slug>/ (whose argument `kwargs` leaves out: it is the prefix's)."""
        return self.route.startswith("o/<slug:org_slug>/")


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
ORG_ROUTES = [r for r in ROUTES if r.in_organization]
API_ROUTES = [r for r in ROUTES if r.route.startswith("api/")]
WEB_ROUTES = [r for r in ROUTES if not r.route.startswith("api/")]
ORG_ROUTES_WITH_IDS = [r for r in ORG_ROUTES if r.kwargs]
API_ROUTES_WITH_IDS = [r for r in API_ROUTES if r.kwargs]
_ROUTE_OF = {r.name: r for r in reversed(ROUTES)}  # a name's first pattern


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
            "invitation": MemberInvitationFactory(email=f"invitee@{marker}.example"),
            "segment": SegmentFactory(name=f"{title} segment", filters={"q": marker}),
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
            "todo": TodoFactory(account=account, title=f"{title} task"),
            "playbook": PlaybookFactory(name=f"{title} playbook", task_title=f"{title} follow-up"),
        }


Filler = Callable[[dict], object]

# URL argument under /o/<org_slug>/ -> the object it names (from objects_of).
ORG_URL_KWARGS: dict[str, Filler] = {
    "account_id": lambda o: o["account"].pk,
    "membership_id": lambda o: o["membership"].pk,
    "upload_id": lambda o: o["upload"].pk,
    "api_key_id": lambda o: o["api_key"].pk,
    "invitation_id": lambda o: o["invitation"].pk,
    "contact_id": lambda o: o["contact"].pk,
    "campaign_id": lambda o: o["campaign"].pk,
    "segment_id": lambda o: o["segment"].pk,
    "stage_id": lambda o: o["stage"].pk,
    "type_id": lambda o: o["touchpoint_type"].pk,
    "milestone_id": lambda o: o["milestone"].pk,
    "feature_id": lambda o: o["core_feature"].pk,
    "todo_id": lambda o: o["todo"].pk,
    "playbook_id": lambda o: o["playbook"].pk,
}

# --- the catalogue ------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What the tests know about one URL name."""

    name: str
    family: str
    methods: tuple[str, ...]  # what the view takes (lower case); the first is the usual one
    fillers: Mapping[str, Filler]  # URL argument -> its value in objects_of()
    minimum: str | None = None  # under /o/<org_slug>/: the lowest role that may use it
    status: int | None = None  # under /o/<org_slug>/: what the role matrix gets when allowed
    data: dict | None = None  # the role matrix's POST data
    effect: Callable | None = None  # the role matrix's read-back: True once the POST took effect
    section: ModuleType | None = None  # tests/roles_<family>.py
    csrf_exempt: str = ""  # why it takes a POST without a CSRF token (docs/security.md)

    @property
    def method(self) -> str:
        return self.methods[0]

    @property
    def route(self) -> Route:
        return _ROUTE_OF[self.name]

    def url(self, objects: Mapping, *, org_slug: str | None = None, missing: bool = False) -> str:
        """The URL naming `objects` (from objects_of), or ids that exist nowhere."""
        kwargs: dict = {"org_slug": org_slug} if self.route.in_organization else {}
        for name in self.route.kwargs:
            value = self.fillers[name](objects)
            if missing:
                value = MISSING_INT if isinstance(value, int) else MISSING_STR
            kwargs[name] = value
        return reverse(self.name, kwargs=kwargs)

    def matrix_url(self, team) -> str:
        """The URL the role matrix tries in `team`'s organization, with objects made for it."""
        kwargs = {"org_slug": team.organization.slug}
        if self.section is not None:
            kwargs.update(self.section.url_kwargs(self.name, team))
        return reverse(self.name, kwargs=kwargs)

    def matrix_data(self, team) -> dict | None:
        """The role matrix's POST data (some of it names objects made for the test)."""
        if self.section is None:
            return self.data
        return self.section.post_data(self.name, team, self.data)


# The pages under /o/<org_slug>/, one module a family: every tests/roles_<family>.py.
FAMILIES = [
    importlib.import_module(f"tests.{module.name}")
    for module in pkgutil.iter_modules(tests.__path__)
    if module.name.startswith("roles_")
]


def _fillers_of(name: str) -> dict[str, Filler]:
    route = _ROUTE_OF.get(name)
    kwargs = route.kwargs if route else ()
    return {k: ORG_URL_KWARGS[k] for k in kwargs if k in ORG_URL_KWARGS}


def _org_entries():
    for section in FAMILIES:
        family = section.__name__.removeprefix("tests.roles_")
        for name, (method, minimum, status, data) in section.ORG_VIEWS.items():
            yield Entry(
                name=name,
                family=family,
                methods=(method,),
                fillers=_fillers_of(name),
                minimum=minimum,
                status=status,
                data=data,
                effect=section.EFFECTS.get(name),
                section=section,
            )


# The REST API: url name -> (methods, URL argument -> the object it names).
API_URLS: dict[str, tuple[tuple[str, ...], dict[str, Filler]]] = {
    "api:event-batch": (("post",), {}),
    "api:schema": (("get",), {}),
    "api:docs": (("get",), {}),
    "api:account-list": (("get", "post"), {}),
    "api:account-detail": (("get", "patch"), {"external_id": lambda o: o["account"].external_id}),
    "api:contact-list": (("get", "post"), {}),
    "api:contact-detail": (("get", "patch"), {"pk": lambda o: o["contact"].pk}),
    "api:contact-erase": (("post",), {"pk": lambda o: o["contact"].pk}),
    "api:subscription-list": (("get", "post"), {}),
    "api:subscription-detail": (
        ("get", "patch"),
        {"external_id": lambda o: o["subscription"].external_id},
    ),
    "api:touchpoint-list": (("get", "post"), {}),
    "api:touchpoint-detail": (("get", "patch"), {"pk": lambda o: o["touchpoint"].pk}),
}

# Outside an organization and the API: url name -> (family, methods). Their arguments are
# signed tokens, filled with one that is not.
SITE_URLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "healthz": ("site", ("get",)),
    "home": ("site", ("get",)),
    "organization_list": ("site", ("get",)),
    "set_language": ("site", ("post",)),
    "invitation_accept": ("invitations", ("get", "post")),
    "login": ("sign_in", ("get", "post")),
    "logout": ("sign_in", ("post",)),
    "password_change": ("sign_in", ("get", "post")),
    "password_change_done": ("sign_in", ("get",)),
    "password_reset": ("sign_in", ("get", "post")),
    "password_reset_done": ("sign_in", ("get",)),
    "password_reset_confirm": ("sign_in", ("get", "post")),
    "password_reset_complete": ("sign_in", ("get",)),
    "public_surveys:answer": ("public_surveys", ("get", "post")),
    "public_surveys:thanks": ("public_surveys", ("get",)),
    "public_surveys:unsubscribe": ("public_surveys", ("get", "post")),
    "stripe_webhook": ("stripe_webhooks", ("post",)),
}

# URL name -> why it takes a POST without a CSRF token. Mirror of docs/security.md.
CSRF_EXEMPT = {
    "public_surveys:unsubscribe": "RFC 8058 one-click unsubscribe: mail clients POST it with no "
    "cookie and no token; the signed, unguessable token in the URL is the authority, and "
    "all it can do is stop that one contact's survey emails.",
    "stripe_webhook": "Stripe posts events with no cookie: the Stripe-Signature header, an "
    "HMAC of the body under the organization's signing secret, is the authority; the URL's "
    "random token only routes it, and an event can do no more than have a customer synced "
    "again from Stripe.",
}


def _not_a_token(objects: Mapping) -> str:
    return NOT_A_TOKEN


def _entries() -> list[Entry]:
    entries = list(_org_entries())
    entries += [
        Entry(name=name, family="api", methods=methods, fillers=fillers)
        for name, (methods, fillers) in API_URLS.items()
    ]
    for name, (family, methods) in SITE_URLS.items():
        route = _ROUTE_OF.get(name)
        fillers = dict.fromkeys(route.kwargs if route else (), _not_a_token)
        entries.append(
            Entry(
                name=name,
                family=family,
                methods=methods,
                fillers=fillers,
                csrf_exempt=CSRF_EXEMPT.get(name, ""),
            )
        )
    return entries


ENTRIES = _entries()
CATALOGUE = {entry.name: entry for entry in ENTRIES}
ORG_ENTRIES = [entry for entry in CATALOGUE.values() if entry.minimum is not None]


def org_url(route: Route, objects: Mapping, *, org_slug: str, missing: bool = False) -> str:
    """`route` under /o/<org_slug>/ naming `objects` (or ids that exist nowhere)."""
    return CATALOGUE[route.name].url(objects, org_slug=org_slug, missing=missing)
