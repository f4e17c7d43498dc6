from django.urls import path

from dashboards import executive_views

# Included by dashboards/urls.py (namespace "dashboards"), under /o/<org_slug>/.
urlpatterns = [
    path("executive/", executive_views.executive, name="executive"),
    path("executive/benchmarks/", executive_views.benchmarks, name="benchmarks"),
]
