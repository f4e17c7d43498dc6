"""The current organization, typed as accounts' model.

csplatform.tenancy keeps the organization of the work in progress but, being the bottom
layer, knows it only by its shape. Code above it (accounts and every app over it) reads
it here, as an `Organization`, with every field.
"""

from __future__ import annotations

from typing import cast

from accounts.models import Organization
from csplatform import tenancy


def current_organization() -> Organization:
    """The organization of the work in progress; raises TenantScopeError if there is none."""
    return cast(Organization, tenancy.current_organization())
