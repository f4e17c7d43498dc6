from django.urls import include, path

from dashboards import health_views, views

app_name = "dashboards"

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("", views.home, name="home"),
    path("", include("dashboards.urls_workspace")),
    path("", include("dashboards.urls_account")),
    path("", include("dashboards.urls_revenue")),
    path("", include("dashboards.urls_executive")),
    path("health/", health_views.health, name="health"),
    path("health/model/", health_views.health_model_edit, name="health_model"),
    path("health/backtest/", health_views.health_backtest, name="health_backtest"),
    path("accounts/<int:account_id>/health/", health_views.account_health, name="account_health"),
]
