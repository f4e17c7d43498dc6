from django.urls import path

from dashboards import views

app_name = "dashboards"

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("", views.home, name="home"),
    path("executive/", views.executive, name="executive"),
]
