"""Tenancy: the one place that knows which organization a piece of work is for.

The current organization lives in a ContextVar. It is set by
`TenantMiddleware` (from `/o/<org_slug>/…` after checking membership), by
API-key authentication, by a signed token, or by `with tenant_context(org):`
in tasks and commands.

Isolation is enforced twice:

1. `TenantModel.objects` filters by the current organization and *raises*
   `TenantScopeError` when none is set. The escape hatch is spelled
   `Model.objects.unscoped()`; grep for it in review.
2. Every tenant-owned table has Postgres row-level security (see
   `csplatform.rls`) keyed on the transaction-local setting
   `app.organization_id`, which `tenant_context` sets with
   `set_config(..., true)` inside its own transaction. A transaction-local
   setting cannot outlive the request or task on a reused connection.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, cast

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection, models, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from csplatform.ratelimit import Verdict, rate_limit_hit, rate_limit_reached
from csplatform.security import client_network


class Organization(Protocol):
    """What this layer knows of a tenant (settings.TENANT_MODEL, accounts.Organization):
    named by its shape, so the bottom layer imports nothing above it. Code above
    accounts reads the tenant through accounts.tenancy.current_organization, typed as
    the model."""

    pk: Any
    slug: str
    time_zone: str
    is_active: bool


class Membership(Protocol):
    """What this layer knows of a member (settings.TENANT_MEMBERSHIP_MODEL)."""

    organization: Any

    def has_role(self, minimum: str) -> bool: ...


DB_SETTING = "app.organization_id"

_current_organization: ContextVar[Organization | None] = ContextVar(
    "current_organization", default=None
)


class TenantScopeError(RuntimeError):
    """A tenant-owned model was queried or saved with no (or the wrong) organization set."""


def organization_model() -> Any:
    """settings.TENANT_MODEL's class (accounts.Organization). Untyped here, where only its
    shape (`Organization` above) is known; code above accounts imports the model."""
    return apps.get_model(settings.TENANT_MODEL)


def membership_model() -> Any:
    """settings.TENANT_MEMBERSHIP_MODEL's class (accounts.Membership), untyped likewise."""
    return apps.get_model(settings.TENANT_MEMBERSHIP_MODEL)


def current_organization() -> Organization:
    """The organization of the work in progress; raises TenantScopeError if there is none."""
    organization = _current_organization.get()
    if organization is None:
        raise TenantScopeError(
            "No organization is set. Wrap the work in `with tenant_context(org):`, or "
            "reach it through a /o/<org_slug>/ URL."
        )
    return organization


def current_organization_id() -> int | None:
    organization = _current_organization.get()
    return None if organization is None else organization.pk


def _set_database_tenant(organization_id: int | None) -> None:
    # Transaction-local (`true`): gone at COMMIT/ROLLBACK, never left on a pooled connection.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true)",
            [DB_SETTING, "" if organization_id is None else str(organization_id)],
        )


@contextmanager
def tenant_context(organization: Organization | int) -> Iterator[Organization]:
    """Run the block for one organization, in one transaction.

    Sets the ContextVar and Postgres' transaction-local `app.organization_id`.
    Nested blocks (another organization inside) restore the outer one on exit.
    An exception rolls the block back, and the setting with it.
    """
    if not isinstance(organization, models.Model):  # an id (of any integer type)
        organization = organization_model().objects.get(pk=organization)
    organization = cast(Organization, organization)
    previous = _current_organization.get()
    inside_outer_transaction = connection.in_atomic_block
    with transaction.atomic():
        # Set and reset inside the transaction: on_commit callbacks run after it,
        # with no organization, so late work raises instead of silently seeing nothing.
        token = _current_organization.set(organization)
        try:
            _set_database_tenant(organization.pk)
            yield organization
            if inside_outer_transaction:
                # A released savepoint keeps SET LOCAL: put the outer value back.
                # (On an exception the rollback to the savepoint undoes it.)
                _set_database_tenant(None if previous is None else previous.pk)
        finally:
            _current_organization.reset(token)


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        organization_id = current_organization_id()
        objs = list(objs)
        for obj in objs:
            _claim_for_current_organization(obj, organization_id)
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Fail-closed: filters by the current organization, raises when there is none."""

    use_in_migrations = False

    def get_queryset(self) -> TenantQuerySet:
        organization_id = current_organization_id()
        if organization_id is None:
            raise TenantScopeError(
                f"{self.model.__name__} is tenant-owned and no organization is set. Use "
                "`with tenant_context(org):`, or `.unscoped()` with a comment saying why."
            )
        return super().get_queryset().filter(organization_id=organization_id)

    def unscoped(self) -> TenantQuerySet:
        """Every organization's rows that the database lets through. Rare; say why beside it."""
        return super().get_queryset()


def _claim_for_current_organization(obj: TenantModel, organization_id: int | None) -> None:
    if organization_id is None:
        raise TenantScopeError(
            f"Cannot save a {type(obj).__name__} with no organization set: use tenant_context()."
        )
    if obj.organization_id is None:
        obj.organization_id = organization_id
    elif obj.organization_id != organization_id:
        raise TenantScopeError(
            f"This {type(obj).__name__} belongs to organization {obj.organization_id}, "
            f"not to the current organization {organization_id}."
        )


class TenantModel(models.Model):
    """Base of every tenant-owned model: an organization column, a scoped manager, RLS.

    A new subclass needs `EnableRowLevelSecurity("<model>")` in its migration;
    tests/test_tenancy_isolation.py finds every subclass and proves both layers.
    """

    # DB_CASCADE: Postgres deletes the rows (referential actions bypass RLS), so
    # deleting an organization needs no tenant context and loads none of its rows.
    # No index of its own: every tenant-owned model declares indexes (or unique
    # constraints) that lead with organization_id, which serve it (and a Citus
    # distribution); tests/test_tenancy_isolation.py checks each table has one.
    organization = models.ForeignKey(
        settings.TENANT_MODEL,
        on_delete=models.DB_CASCADE,
        related_name="+",
        editable=False,
        db_index=False,
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        _claim_for_current_organization(self, current_organization_id())
        super().save(*args, **kwargs)


def tenant_models() -> list[type[TenantModel]]:
    """Every concrete tenant-owned model, found by introspection."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel) and not model._meta.proxy
    ]


@contextmanager
def local_time(organization: Organization) -> Iterator[None]:
    """Show times in the organization's time zone for the block."""
    timezone.activate(zoneinfo.ZoneInfo(organization.time_zone))
    try:
        yield
    finally:
        timezone.deactivate()


class TenantRequest(HttpRequest):
    """For type annotations only: a request as `TenantMiddleware` leaves it.

    Under /o/<org_slug>/ both are set (accounts.http.OrganizationRequest types that
    case); an API call with a valid key sets `organization` and `api_key`.
    """

    organization: Organization | None
    membership: Membership | None
    api_key: Any  # settings.TENANT_API_KEYS's key (accounts.ApiKey), or None


# How long a key that passed is let through a network paused for failed keys.
GOOD_KEY_SECONDS = 600


def _good_key_cache_key(request: HttpRequest) -> str:
    credentials = request.headers.get("Authorization", "")
    return "api-key-good:" + hashlib.sha256(credentials.encode()).hexdigest()


def _key_recently_good(request: HttpRequest) -> bool:
    try:
        return bool(cache.get(_good_key_cache_key(request)))
    except Exception:  # the cache is down: the pause holds (the rate limit said so)
        return False


# When this process last told the cache that a key passed: told again only once half
# the memory has gone by, so a busy integration costs the cache one write in five minutes,
# not one per request.
_told_good: dict[str, float] = {}


def _key_remember_good(request: HttpRequest) -> None:
    key, now = _good_key_cache_key(request), timezone.now().timestamp()
    if now - _told_good.get(key, float("-inf")) < GOOD_KEY_SECONDS / 2:
        return
    if len(_told_good) > 10_000:  # a bound on what a process keeps of many keys
        _told_good.clear()
    try:
        cache.set(key, 1, timeout=GOOD_KEY_SECONDS)
    except Exception:  # only the pause's exception is lost
        return
    _told_good[key] = now


def _too_many_failed_keys(verdict: Verdict) -> HttpResponse:
    response = JsonResponse(
        {
            "detail": _(
                "Too many requests with an API key that is not valid from this network: "
                "wait %(seconds)s seconds, then send again."
            )
            % {"seconds": verdict.retry_after}
        },
        status=429,
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


class TenantMiddleware:
    """Resolves `/o/<org_slug>/…` to an organization the user belongs to, and enters it.

    Anonymous users go to the login page; a signed-in user who is not a member
    gets a 404, whether or not the organization exists.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: TenantRequest) -> HttpResponse:
        request.organization = None
        request.membership = None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        slug = match.kwargs.get("org_slug")
        if slug is None:
            if request.path_info.startswith(settings.TENANT_API_PREFIX):
                return self._api_request(request)
            return self.get_response(request)
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login  # needs the user model loaded

            return redirect_to_login(request.get_full_path())
        membership = (
            membership_model()
            .objects.select_related("organization")
            .filter(user=request.user, organization__slug=slug, organization__is_active=True)
            .first()
        )
        if membership is None:
            raise Http404("No such organization.")
        request.organization = membership.organization
        request.membership = membership
        with tenant_context(membership.organization), local_time(membership.organization):
            return self.get_response(request)

    def _api_request(self, request: TenantRequest) -> HttpResponse:
        """An API call: the key names the organization; it is checked inside that tenant.

        A key that is not valid costs an organization lookup, a transaction and a key
        lookup: past API_KEY_FAILURE_RATE_LIMIT of them from one client network, the
        network gets a 429 before any of that. Except a key that passed within the last
        GOOD_KEY_SECONDS (remembered in the cache by a hash of the whole key, so only
        its holder can present it): behind a shared address (a NAT, an integration
        platform) one tenant's revoked key must not stop another tenant's working one."""
        keys = import_string(settings.TENANT_API_KEYS)
        request.api_key = None
        if not request.headers.get("Authorization"):
            return self.get_response(request)  # DRF answers 401, having looked nothing up
        network = client_network(request) or "unknown"
        verdict = rate_limit_reached(
            scope="api-key-failures", ident=network, rate=settings.API_KEY_FAILURE_RATE_LIMIT
        )
        if not verdict.allowed and not _key_recently_good(request):
            return _too_many_failed_keys(verdict)
        organization = keys.organization_for_key(request)
        if organization is not None:
            with tenant_context(organization), local_time(organization):
                api_key = keys.api_key_for_request(request)
                if api_key is not None:
                    request.organization = organization
                    request.api_key = api_key
                    _key_remember_good(request)
                    return self.get_response(request)
        # A forged, revoked or malformed key: count it, and leave the tenant before anything
        # else runs (DRF says 401).
        rate_limit_hit(
            scope="api-key-failures", ident=network, rate=settings.API_KEY_FAILURE_RATE_LIMIT
        )
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        """Run a tenant view in a savepoint: if it raises or answers 5xx, it wrote nothing.

        (As ATOMIC_REQUESTS would; the error page is then rendered in a clean transaction.)
        Middleware listed after this one gets no process_view call for tenant views.
        """
        if getattr(request, "organization", None) is None:
            return None
        with transaction.atomic():
            response = view_func(request, *view_args, **view_kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response
