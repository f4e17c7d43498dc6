"""API-key authentication: the key names its organization, which becomes the tenant."""

import hashlib
import secrets
from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from accounts.models import ApiKey, Organization

KEY_PREFIX = "csp"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key(organization_id: int) -> str:
    return f"{KEY_PREFIX}_{organization_id}_{secrets.token_urlsafe(32)}"


def organization_for_key(request: HttpRequest) -> Organization | None:
    """The active organization a `Authorization: Bearer csp_<id>_<secret>` header claims.

    Only parses: the key itself is checked inside that organization's tenant
    context by `api_key_for_request`. None when there is no such header.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.startswith(f"{KEY_PREFIX}_"):
        return None
    organization_id = key.split("_", 2)[1]
    if not (organization_id.isascii() and organization_id.isdigit()):
        return None
    return Organization.objects.filter(pk=int(organization_id), is_active=True).first()


def api_key_for_request(request: HttpRequest) -> ApiKey | None:
    """The request's unrevoked key, looked up in the current tenant; marks it used."""
    key = request.headers.get("Authorization", "").partition(" ")[2].strip()
    api_key = ApiKey.objects.filter(hashed_key=hash_key(key), revoked_at__isnull=True).first()
    if api_key is not None:
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Reads what TenantMiddleware found: DRF runs too late to choose the tenant itself."""

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        api_key = getattr(request._request, "api_key", None)
        if api_key is not None:
            return (None, api_key)
        if request.headers.get("Authorization"):
            raise exceptions.AuthenticationFailed(
                "This API key is not valid: it may have been revoked. Create a new one on the "
                "API keys page."
            )
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class HasApiKey(permissions.BasePermission):
    message = "Send an API key: Authorization: Bearer csp_…"

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, ApiKey)


class ApiKeySchema(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the API key."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: Authorization: Bearer csp_…",
        }


class TenantApiKeys:
    """How the tenant middleware (csplatform.tenancy) finds an API call's organization
    and key: named by settings.TENANT_API_KEYS, as AUTH_USER_MODEL names the user model,
    so that the bottom layer imports nothing above it."""

    organization_for_key = staticmethod(organization_for_key)
    api_key_for_request = staticmethod(api_key_for_request)
