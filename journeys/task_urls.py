from django.urls import path

from journeys import task_views

app_name = "tasks"

# Mounted under /o/<org_slug>/tasks/.
urlpatterns = [
    path("", task_views.task_list, name="list"),
    path("<int:task_id>/complete/", task_views.task_complete, name="complete"),
    path("<int:task_id>/snooze/", task_views.task_snooze, name="snooze"),
    path("playbooks/", task_views.playbooks, name="playbooks"),
    path("playbooks/new/", task_views.playbook_create, name="playbook_create"),
    path("playbooks/defaults/", task_views.playbook_defaults, name="playbook_defaults"),
    path("playbooks/<int:playbook_id>/", task_views.playbook_edit, name="playbook_edit"),
    path("playbooks/<int:playbook_id>/toggle/", task_views.playbook_toggle, name="playbook_toggle"),
]
