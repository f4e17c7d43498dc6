from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import views as account_views
from accounts.forms import EmailAuthenticationForm
from csplatform import views

org_patterns = [
    path("", include("dashboards.urls")),
    path("", include("accounts.urls")),
    path("surveys/", include("surveys.manage_urls")),
    path("journey/", include("journeys.urls")),
    path("tasks/", include("journeys.task_urls")),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("orgs/", account_views.organization_list, name="organization_list"),
    path("o/<slug:org_slug>/", include(org_patterns)),
    path("api/v1/", include("csplatform.api_urls")),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation_accept"),
    path("s/", include("surveys.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/setlang/", account_views.language_set, name="set_language"),
]

handler404 = "csplatform.views.not_found"
handler403 = "csplatform.views.forbidden"
handler500 = "csplatform.views.server_error"
