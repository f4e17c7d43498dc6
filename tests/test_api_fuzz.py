"""Schemathesis explores the whole API from its own OpenAPI schema: no request may get a 5xx.

It calls the real WSGI application, which closes a connection left in a
transaction at the end of each request, so these tests commit for real.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from accounts import services
from accounts.customers import accounts_upsert
from accounts.models import Role
from csplatform.tenancy import tenant_context
from csplatform.wsgi import application
from tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture
def api_key(transactional_db):
    organization = OrganizationFactory(currency="BRL")
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    with tenant_context(organization):
        accounts_upsert([{"external_id": "acme-1", "name": "Acme"}])
        _api_key, key = services.api_key_create(name="fuzz", created_by=owner)
    return key


# Reading the schema needs no database: it is served without authentication.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_it_answers_every_api_request_without_a_server_error(case, api_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"}, checks=[not_a_server_error]
    )
