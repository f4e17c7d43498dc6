"""The Connections page under /o/<org_slug>/ (namespace "billing") and the public address
Stripe posts events to. Mounted by csplatform/urls.py at the root."""

from django.urls import include, path

from billing import views

organization_patterns = [
    path("connections/", views.connections, name="connections"),
    path("connections/stripe/connect/", views.stripe_connect, name="stripe_connect"),
    path(
        "connections/stripe/signing-secret/",
        views.stripe_webhook_secret,
        name="stripe_webhook_secret",
    ),
    path("connections/stripe/disconnect/", views.stripe_disconnect, name="stripe_disconnect"),
]

urlpatterns = [
    path("o/<slug:org_slug>/", include((organization_patterns, "billing"))),
    # The token: the organization's id, then 43 random characters (docs/integrations.md).
    path("hooks/stripe/<str:token>/", views.stripe_webhook, name="stripe_webhook"),
]
