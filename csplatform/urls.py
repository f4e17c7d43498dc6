"""The root URLconf: the composition root, naming each app's URLconf by its dotted path.

accounts: signing in, organizations, invitations, language, organization settings;
billing: the Connections page and the public Stripe webhook (/hooks/stripe/…);
dashboards: every other page under /o/<org_slug>/; surveys: the public answer pages;
the API is assembled in csplatform/api_urls.py.
"""

from django.urls import include, path

from csplatform import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("billing.urls")),
    path("o/<slug:org_slug>/", include("dashboards.urls")),
    path("api/v1/", include("csplatform.api_urls")),
    path("s/", include("surveys.urls")),
]

handler400 = "csplatform.views.bad_request"
handler404 = "csplatform.views.not_found"
handler403 = "csplatform.views.forbidden"
handler500 = "csplatform.views.server_error"
