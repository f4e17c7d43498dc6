"""Stand-ins for the Stripe connection's tests (tests/test_stripe_connection.py,
tests/test_stripe_webhooks.py, tests/roles_billing.py).

- `localstripe_url()`: the real localstripe server (PyPI, a fake Stripe API), served
  on loopback from a thread of the test process (so the fast tier starts no process),
  its store kept in memory (its own dump to /tmp/localstripe.pickle is switched off:
  other test runs on the machine use that file). Started once; `localstripe_flush()`
  empties it between tests. settings.STRIPE_API_BASE points at it for the session:
  no test may reach api.stripe.com.
- `stripe_sync_module()`: billing.stripe_sync, written in another branch (the Stripe
  → history mapping). Until it lands, a minimal stand-in of its interface is put in
  its place: the client and the customer pages really talk to localstripe; only
  `customer_sync` is a placeholder that each test replaces with a recording double.
  Once the real module exists it is used as is, and tests replace only its
  `customer_sync` (with `monkeypatch`). At the merge this gives way to the fuller
  tests/localstripe.py.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import types
from typing import Any

import requests
import stripe
from django.conf import settings

_server: dict[str, Any] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def localstripe_url() -> str:
    """The base URL of the session's localstripe (started on first use)."""
    if "url" in _server:
        settings.STRIPE_API_BASE = _server["url"]
        return _server["url"]
    from aiohttp import web
    from localstripe import resources, server

    resources.store.dump_to_disk = lambda: None  # the store stays in memory
    port = _free_port()
    ready = threading.Event()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(server.app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, name="localstripe", daemon=True).start()
    if not ready.wait(10):
        raise AssertionError("localstripe did not start")
    _server["url"] = f"http://127.0.0.1:{port}"
    settings.STRIPE_API_BASE = _server["url"]
    return _server["url"]


def localstripe_flush() -> None:
    requests.delete(localstripe_url() + "/_config/data", timeout=5).raise_for_status()


def localstripe_client(key: str = "sk_test_localstripe0001") -> stripe.StripeClient:
    """A client of the session's localstripe, for a test to make customers with."""
    return stripe.StripeClient(
        key, base_addresses={"api": localstripe_url()}, max_network_retries=0
    )


def _stand_in() -> types.ModuleType:
    module = types.ModuleType("billing.stripe_sync")
    module.__doc__ = "A stand-in of billing.stripe_sync's interface (tests only)."

    def stripe_client(api_key: str) -> stripe.StripeClient:
        return stripe.StripeClient(
            api_key, base_addresses={"api": settings.STRIPE_API_BASE}, max_network_retries=0
        )

    def customers_page(client, *, starting_after, limit=100):
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        page = client.v1.customers.list(params)
        ids = [customer.id for customer in page.data]
        return ids, (ids[-1] if page.has_more and ids else None)

    def customer_sync(client, customer_id):
        raise AssertionError("the test should replace customer_sync with a double")

    def event_customer_id(event: dict) -> str | None:
        obj = (event.get("data") or {}).get("object") or {}
        if obj.get("object") == "customer":
            return obj.get("id")
        customer = obj.get("customer")
        return customer if isinstance(customer, str) else None

    module.stripe_client = stripe_client
    module.customers_page = customers_page
    module.customer_sync = customer_sync
    module.event_customer_id = event_customer_id
    return module


def stripe_sync_module() -> types.ModuleType:
    """billing.stripe_sync: the real module once it exists, else the stand-in above."""
    try:
        import billing.stripe_sync as real

        return real
    except ImportError:
        module = sys.modules.get("billing.stripe_sync") or _stand_in()
        sys.modules["billing.stripe_sync"] = module
        import billing

        billing.stripe_sync = module  # type: ignore[attr-defined]
        return module
