from django.urls import path  # noqa: F401

# Included by dashboards/urls.py (namespace "dashboards"), under /o/<org_slug>/.
urlpatterns: list = []
