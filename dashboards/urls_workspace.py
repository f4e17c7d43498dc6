from django.urls import path

from dashboards import accounts_views

# Included by dashboards/urls.py (namespace "dashboards"), under /o/<org_slug>/.
# (dashboards:home, the workspace itself, is dashboards/views.py's `home`.)
urlpatterns = [
    path("accounts/", accounts_views.account_list, name="accounts"),
    path("accounts/export.csv", accounts_views.account_list_csv, name="accounts_csv"),
]
