from django.urls import path

from dashboards import revenue_views

# Included by dashboards/urls.py (namespace "dashboards"), under /o/<org_slug>/.
urlpatterns = [
    path("revenue/", revenue_views.revenue, name="revenue"),
]
