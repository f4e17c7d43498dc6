from django.urls import path  # noqa: F401

app_name = "tasks"

# Mounted under /o/<org_slug>/tasks/.
urlpatterns: list = []
