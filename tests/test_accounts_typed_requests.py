"""Every page of accounts under /o/<org_slug>/ is typed `request: OrganizationRequest`
(accounts/http.py): what the tenant middleware set is then typed where it is used,
instead of a `# type: ignore` at each use. Found from the URL resolver, so a new page
is covered without anyone remembering."""

import inspect
import typing

import pytest

from accounts.http import OrganizationRequest
from tests.url_catalogue import ORG_ROUTES

ACCOUNTS_ORG_ROUTES = [route for route in ORG_ROUTES if route.name.startswith("accounts:")]


def test_it_finds_the_accounts_pages():
    assert len(ACCOUNTS_ORG_ROUTES) >= 10


@pytest.mark.parametrize("route", ACCOUNTS_ORG_ROUTES, ids=lambda route: route.name)
def test_it_types_the_request_of_every_accounts_page(route):
    view = inspect.unwrap(route.view)
    assert typing.get_type_hints(view).get("request") is OrganizationRequest, route.name
