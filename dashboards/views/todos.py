"""To-dos ("Tasks" on screen; manager and up) and the playbooks that open them (admin
and up).

Each page works without JavaScript; with htmx, the filters swap the table and the
complete and snooze buttons swap their row (partials of todos/list.html).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import OrganizationRequest
from accounts.permissions import admin_required, manager_required
from accounts.selectors import membership_list
from csplatform.clock import organization_today
from csplatform.http import render_page
from dashboards.forms import form_changes
from dashboards.forms.todos import SNOOZE_DAYS, PlaybookForm, SnoozeForm, TodoFilterForm
from journeys import todo_selectors, todo_services
from journeys.models import Playbook, Todo
from metrics.services import playbooks_default_add

TODOS_PER_PAGE = 50


def _row_context(request: OrganizationRequest, todo: Todo | None = None) -> dict[str, Any]:
    """What a task row needs besides its task: today, the snooze default, where to go back."""
    today = organization_today()
    # Back to the list as it was filtered: the page's own address, or the one it posted.
    back = request.get_full_path() if request.method == "GET" else request.POST.get("next", "")
    if not back or not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("todos:list", kwargs={"org_slug": request.organization.slug})
    context: dict[str, Any] = {
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "snooze_default": today + timedelta(days=SNOOZE_DAYS),
        "next": back,
    }
    if todo is not None:
        context["todo"] = todo
    return context


@manager_required
@require_http_methods(["GET"])
def todo_list(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    members = [(m.user_id, m.user.get_full_name()) for m in membership_list()]
    filters = TodoFilterForm(request.GET or None, members=members)
    status = filters.value("status", "open")
    assignee = filters.value("assignee", "me")
    context = _row_context(request)
    todos = todo_selectors.todo_list(
        status=status,
        assignee=assignee,
        user=request.user,
        today=context["today"],
    )
    page = Paginator(todos, TODOS_PER_PAGE).get_page(request.GET.get("page"))
    context.update(
        {
            "filters": filters,
            "status": status,
            "assignee": assignee,
            "todos": page,
            "query": f"status={status}&assignee={assignee}",
        }
    )
    # The filters swap the table.
    return render_page(request, "todos/list.html", context, partial="task-table")


def _todo_get(todo_id: int) -> Todo:
    """One task of the current organization; another organization's is a 404."""
    return get_object_or_404(
        Todo.objects.select_related("account", "assignee", "playbook"), pk=todo_id
    )


def _lists_open_tasks(list_url: str) -> bool:
    """Whether the task list at `list_url` (a row's `next`) shows the open tasks."""
    return parse_qs(urlsplit(list_url).query).get("status", ["open"])[-1] == "open"


def _back(request: OrganizationRequest) -> HttpResponse:
    return redirect(_row_context(request)["next"])


@manager_required
@require_POST
def todo_complete(request: OrganizationRequest, org_slug: str, todo_id: int) -> HttpResponse:
    todo = todo_services.todo_complete(todo=_todo_get(todo_id), user=request.user)
    if request.htmx:
        return render_page(
            request, "todos/list.html", _row_context(request, todo), partial="task-row"
        )
    messages.success(
        request,
        _("Done: “%(title)s” for %(account)s.")
        % {"title": todo.title, "account": todo.account.name},
    )
    return _back(request)


@manager_required
@require_POST
def todo_snooze(request: OrganizationRequest, org_slug: str, todo_id: int) -> HttpResponse:
    todo = _todo_get(todo_id)
    context = _row_context(request, todo)
    form = SnoozeForm(request.POST, today=context["today"])
    error, done = None, None
    if not form.is_valid():
        error = " ".join(str(e) for e in form.errors.get("until", [_("Choose a date.")]))
    else:
        until = form.cleaned_data["until"]
        try:
            todo_services.todo_snooze(todo=todo, until=until, today=context["today"])
        except ValidationError as invalid:
            error = " ".join(invalid.messages)
        else:
            done = _("“%(title)s” is hidden until %(day)s.") % {
                "title": todo.title,
                "day": date_format(until, "SHORT_DATE_FORMAT"),
            }
    if request.htmx:
        if done and _lists_open_tasks(context["next"]):
            # Out of the open list, as a reload would show it: a note in the row's place.
            return render_page(
                request, "todos/list.html", {**context, "done": done}, partial="task-snoozed"
            )
        # The row again, snoozed (the snoozed list) or saying what was wrong.
        return render_page(
            request, "todos/list.html", {**context, "row_error": error}, partial="task-row"
        )
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return _back(request)


# --- playbooks (admin and up) -----------------------------------------------------------


def _playbooks_page(
    request: OrganizationRequest, form: PlaybookForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "todos/playbooks.html",
        {"playbooks": todo_selectors.playbook_list(), "form": form},
        status=status,
    )


@admin_required
@require_http_methods(["GET"])
def playbooks(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    return _playbooks_page(request, PlaybookForm())


@admin_required
@require_POST
def playbook_create(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = PlaybookForm(request.POST)
    if not form.is_valid():
        return _playbooks_page(request, form, status=400)
    playbook = todo_services.playbook_create(
        playbook=form.save(commit=False),
        fields={name: form.cleaned_data[name] for name in form.changed_data},
        actor=request.user,
    )
    messages.success(request, _("Playbook “%(name)s” created.") % {"name": playbook.name})
    return redirect("todos:playbooks", org_slug=org_slug)


@admin_required
@require_http_methods(["GET", "POST"])
def playbook_edit(request: OrganizationRequest, org_slug: str, playbook_id: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=playbook_id)
    name = playbook.name  # as saved: an invalid form changes the instance it was given
    form = PlaybookForm(request.POST if request.method == "POST" else None, instance=playbook)
    if request.method == "POST" and form.is_valid():
        todo_services.playbook_update(
            playbook=form.save(commit=False), changed=form_changes(form), actor=request.user
        )
        messages.success(request, _("Playbook “%(name)s” saved.") % {"name": playbook.name})
        return redirect("todos:playbooks", org_slug=org_slug)
    status = 400 if form.errors else 200
    return render(
        request,
        "todos/playbook_edit.html",
        {"playbook": playbook, "name": name, "form": form},
        status=status,
    )


@admin_required
@require_POST
def playbook_toggle(request: OrganizationRequest, org_slug: str, playbook_id: int) -> HttpResponse:
    playbook = todo_services.playbook_toggle(
        playbook=get_object_or_404(Playbook, pk=playbook_id), actor=request.user
    )
    if playbook.is_active:
        message = _("Playbook “%(name)s” is active: it opens tasks from the next run on.")
    else:
        message = _("Playbook “%(name)s” is paused: its open tasks stay open.")
    messages.success(request, message % {"name": playbook.name})
    return redirect("todos:playbooks", org_slug=org_slug)


@admin_required
@require_POST
def playbook_defaults(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    created = playbooks_default_add(actor=request.user)
    if created:
        message = ngettext(
            "%(count)s default playbook added.", "%(count)s default playbooks added.", len(created)
        )
        messages.success(request, message % {"count": len(created)})
    else:
        messages.info(request, _("Every default playbook is here already."))
    return redirect("todos:playbooks", org_slug=org_slug)
