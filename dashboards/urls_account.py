from django.urls import path

from dashboards import account_views

# Included by dashboards/urls.py (namespace "dashboards"), under /o/<org_slug>/.
urlpatterns = [
    path("accounts/<int:account_id>/", account_views.account, name="account"),
    path("accounts/<int:account_id>/notes/", account_views.account_note, name="account_note"),
]
