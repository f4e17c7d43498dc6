"""The Connections page (Admin menu) and the public endpoint Stripe posts events to."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.http import OrganizationRequest
from accounts.permissions import admin_required
from billing import services
from billing.forms import StripeKeyForm, WebhookSecretForm
from billing.models import StripeConnection
from csplatform.http import render_page
from csplatform.tenancy import tenant_context

logger = logging.getLogger(__name__)

# Most a webhook body may be: Stripe's events are a few kilobytes.
WEBHOOK_MAX_BYTES = 512 * 1024


def webhook_url(connection: StripeConnection) -> str:
    """The address to paste into Stripe (Developers, Webhooks, Add endpoint)."""
    return settings.SITE_URL + reverse("stripe_webhook", args=[connection.webhook_token])


def _connections_page(
    request: OrganizationRequest,
    *,
    key_form: StripeKeyForm | None = None,
    secret_form: WebhookSecretForm | None = None,
    status: int | None = None,
) -> HttpResponse:
    connection = services.stripe_connection_get()
    context: dict[str, Any] = {
        "connection": connection,
        "key_form": key_form or StripeKeyForm(),
        "secret_form": secret_form or WebhookSecretForm(),
        "webhook_url": webhook_url(connection) if connection else "",
        "gave_up": bool(connection and connection.failures >= settings.OUTBOX_MAX_DELIVERIES),
        "last_webhook_at": services.stripe_last_webhook_at() if connection else None,
    }
    # Only the page's own GET answers htmx's poll with the status partial; a refused form
    # is the whole page, whoever asks.
    partial = "stripe-status" if request.method == "GET" and connection else None
    return render_page(request, "billing/connections.html", context, partial=partial, status=status)


@admin_required
def connections(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    """The organization's connections: Stripe's status, backfill progress (the
    `stripe-status` partial, which htmx polls while the backfill runs) and set-up."""
    return _connections_page(request)


@admin_required
@require_POST
def stripe_connect(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = StripeKeyForm(request.POST)
    if form.is_valid():
        try:
            services.stripe_connect(key=form.cleaned_data["key"], actor=request.user)
        except services.StripeKeyRefusedError as refused:
            form.add_error("key", refused.message)
        else:
            messages.success(
                request, _("Stripe is connected. Its customers are being synced in the background.")
            )
            return redirect("billing:connections", org_slug=org_slug)
    return _connections_page(request, key_form=form, status=400)


@admin_required
@require_POST
def stripe_webhook_secret(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = WebhookSecretForm(request.POST)
    if form.is_valid():
        try:
            services.stripe_webhook_secret_set(
                secret=form.cleaned_data["secret"], actor=request.user
            )
        except services.StripeKeyRefusedError as refused:
            form.add_error("secret", refused.message)
        except LookupError:
            form.add_error("secret", _("Connect Stripe first."))
        else:
            messages.success(
                request, _("The signing secret is saved: Stripe's events now arrive live.")
            )
            return redirect("billing:connections", org_slug=org_slug)
    return _connections_page(request, secret_form=form, status=400)


@admin_required
@require_POST
def stripe_disconnect(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    if services.stripe_disconnect(actor=request.user):
        messages.success(
            request,
            _("Stripe is disconnected: its key and signing secret are deleted. Synced data stays."),
        )
    return redirect("billing:connections", org_slug=org_slug)


@csrf_exempt  # Stripe posts with no cookie: the signature is the authority (docs/security.md)
@require_POST
def stripe_webhook(request: HttpRequest, token: str) -> HttpResponse:
    """Stripe's events for one organization (billing.services.stripe_webhook_receive).
    Answers in plain text for Stripe's delivery log; never a page."""
    # The size first: a 413 must not tell whether the token names an organization.
    if len(request.body) > WEBHOOK_MAX_BYTES:
        return HttpResponse("too large", status=413, content_type="text/plain")
    organization = services.organization_for_webhook_token(token)
    if organization is None:
        return HttpResponse("unknown endpoint", status=404, content_type="text/plain")
    with tenant_context(organization):
        outcome = services.stripe_webhook_receive(
            token=token,
            payload=request.body,
            signature=request.headers.get("Stripe-Signature", ""),
        )
    if outcome.status >= 400 and outcome.status != 404:
        logger.info(
            "Stripe webhook for organization %s refused (%s): %s",
            organization.pk,
            outcome.status,
            outcome.detail,
        )
    return HttpResponse(outcome.detail, status=outcome.status, content_type="text/plain")
