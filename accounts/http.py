"""The request a page under /o/<org_slug>/ receives, typed.

The tenant middleware (csplatform.tenancy) has checked the membership and set
`organization` and `membership`; django-htmx's middleware sets `htmx`; a page under
/o/<org_slug>/ is only reached signed in (`user`). Views annotate their request with
these classes instead of silencing the type checker at each use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from accounts.models import Membership, Organization, User


class SignedInRequest(HttpRequest):
    """For type annotations only: the request of a view behind `login_required`."""

    user: User  # signed in: never AnonymousUser here
    htmx: HtmxDetails


class OrganizationRequest(SignedInRequest):
    """For type annotations only: the request of a member inside their organization."""

    organization: Organization
    membership: Membership
