"""The task list (filters, overdue, snoozed, complete and snooze inline, with and without
htmx) and the playbooks page (list, create, edit, pause, form errors); another
organization's task or playbook is a 404."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from journeys.models import Playbook, Todo
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    OrganizationFactory,
    PlaybookFactory,
    TodoFactory,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def _today(team):
    # Pages use the organization's day (America/Sao_Paulo in the factories).
    return organization_today(team.organization)


def _url(team, name, **kwargs):
    return reverse(f"todos:{name}", kwargs={"org_slug": team.organization.slug, **kwargs})


def _todo(team, **fields):
    with tenant_context(team.organization):
        fields.setdefault("account", AccountFactory(name=fields.pop("account_name", "Acme")))
        return TodoFactory(**fields)


def _reload(team, todo):
    with tenant_context(team.organization):
        return Todo.objects.get(pk=todo.pk)


# --- the list -----------------------------------------------------------------------------


def test_it_lists_my_open_tasks_by_default(team, signed_in):
    _todo(team, title="Mine", assignee=team.manager, reason="NPS 3 on 2026-11-20")
    _todo(team, title="Theirs", assignee=team.admin)
    page = signed_in(team.manager).get(_url(team, "list")).content.decode()
    assert "Mine" in page
    assert "NPS 3 on 2026-11-20" in page
    assert "Theirs" not in page


def test_it_filters_by_assignee(team, signed_in):
    _todo(team, title="Mine", assignee=team.manager)
    _todo(team, title="Theirs", assignee=team.admin)
    _todo(team, title="Unowned", assignee=None)
    client = signed_in(team.manager)
    everyone = client.get(_url(team, "list"), {"assignee": "all"}).content.decode()
    assert all(title in everyone for title in ("Mine", "Theirs", "Unowned"))
    admins = client.get(_url(team, "list"), {"assignee": team.admin.pk}).content.decode()
    assert "Theirs" in admins
    assert "Mine" not in admins
    nobody = client.get(_url(team, "list"), {"assignee": "none"}).content.decode()
    assert "Unowned" in nobody
    assert "Theirs" not in nobody


def test_it_shows_done_tasks_under_done_only(team, signed_in):
    _todo(team, title="Open one", assignee=team.manager)
    _todo(team, title="Finished", assignee=team.manager, status="done", completed_at=timezone.now())
    client = signed_in(team.manager)
    open_page = client.get(_url(team, "list")).content.decode()
    assert "Open one" in open_page
    assert "Finished" not in open_page
    done_page = client.get(_url(team, "list"), {"status": "done"}).content.decode()
    assert "Finished" in done_page
    assert "Open one" not in done_page


def test_it_hides_snoozed_tasks_until_their_day(team, signed_in):
    today = _today(team)
    _todo(team, title="Sleeping", assignee=team.manager, snoozed_until=today + timedelta(days=2))
    _todo(team, title="Woken", assignee=team.manager, snoozed_until=today)
    client = signed_in(team.manager)
    open_page = client.get(_url(team, "list")).content.decode()
    assert "Woken" in open_page
    assert "Sleeping" not in open_page
    snoozed = client.get(_url(team, "list"), {"status": "snoozed"}).content.decode()
    assert "Sleeping" in snoozed
    assert "Woken" not in snoozed


def test_it_highlights_overdue_tasks_and_names_the_source(team, signed_in):
    today = _today(team)
    with tenant_context(team.organization):
        playbook = PlaybookFactory(name="Detractor follow-up")
    _todo(team, title="Late", assignee=team.manager, due_on=today - timedelta(days=1))
    _todo(team, title="On time", assignee=team.manager, due_on=today, playbook=playbook)
    page = signed_in(team.manager).get(_url(team, "list")).content.decode()
    late_row = page[page.index("Late") : page.index("</tr>", page.index("Late"))]
    on_time_row = page[page.index("On time") : page.index("</tr>", page.index("On time"))]
    assert "Overdue" in late_row
    assert "Manual" in late_row
    assert "Overdue" not in on_time_row
    assert "Detractor follow-up" in on_time_row


def test_it_says_what_to_do_when_nothing_is_waiting(team, signed_in):
    page = signed_in(team.admin).get(_url(team, "list")).content.decode()
    assert "Nothing waiting for you" in page
    assert "See everyone" in page
    assert _url(team, "playbooks") in page


def test_it_swaps_only_the_table_for_htmx_filters(team, signed_in):
    _todo(team, title="Theirs", assignee=team.admin)
    response = signed_in(team.manager).get(_url(team, "list"), {"assignee": "all"}, **HTMX)
    page = response.content.decode()
    assert "Theirs" in page
    assert "<html" not in page


def test_it_falls_back_to_the_defaults_for_unknown_filters(team, signed_in):
    _todo(team, title="Mine", assignee=team.manager)
    response = signed_in(team.manager).get(_url(team, "list"), {"assignee": "x", "status": "y"})
    assert response.status_code == 200
    assert "Mine" in response.content.decode()


# --- complete and snooze ------------------------------------------------------------------


def test_it_completes_a_task_and_goes_back_without_javascript(team, signed_in):
    todo = _todo(team, assignee=team.manager)
    back = _url(team, "list") + "?status=open&assignee=all"
    response = signed_in(team.manager).post(_url(team, "complete", todo_id=todo.pk), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    todo = _reload(team, todo)
    assert todo.status == "done"
    assert todo.completed_by_id == team.manager.pk
    assert todo.completed_at is not None


def test_it_completes_a_task_inline_with_htmx(team, signed_in):
    todo = _todo(team, title="Call Acme", assignee=team.manager)
    response = signed_in(team.manager).post(_url(team, "complete", todo_id=todo.pk), **HTMX)
    row = response.content.decode()
    assert response.status_code == 200
    assert row.strip().startswith(f'<tr id="task-{todo.pk}"')
    assert "Call Acme" in row
    assert "Done" in row
    assert _reload(team, todo).status == "done"


def test_it_never_sends_back_to_another_site(team, signed_in):
    todo = _todo(team, assignee=team.manager)
    response = signed_in(team.manager).post(
        _url(team, "complete", todo_id=todo.pk), {"next": "https://evil.example/"}
    )
    assert response["Location"] == _url(team, "list")


def test_it_snoozes_a_task_until_a_day(team, signed_in):
    todo = _todo(team, assignee=team.manager)
    until = _today(team) + timedelta(days=3)
    response = signed_in(team.manager).post(
        _url(team, "snooze", todo_id=todo.pk), {"until": until.isoformat()}
    )
    assert response.status_code == 302
    assert _reload(team, todo).snoozed_until == until


def test_it_offers_three_days_as_the_default_snooze(team, signed_in):
    _todo(team, assignee=team.manager)
    page = signed_in(team.manager).get(_url(team, "list")).content.decode()
    assert f'value="{(_today(team) + timedelta(days=3)).isoformat()}"' in page


def test_it_refuses_to_snooze_to_today_and_says_why(team, signed_in):
    todo = _todo(team, assignee=team.manager)
    client = signed_in(team.manager)
    response = client.post(
        _url(team, "snooze", todo_id=todo.pk), {"until": _today(team).isoformat()}, follow=True
    )
    assert "Snooze until a day after today." in response.content.decode()
    row = client.post(
        _url(team, "snooze", todo_id=todo.pk), {"until": "not a date"}, **HTMX
    ).content.decode()
    assert f'<tr id="task-{todo.pk}"' in row
    assert "Enter a valid date." in row
    assert _reload(team, todo).snoozed_until is None


def test_it_snoozes_inline_with_htmx(team, signed_in):
    todo = _todo(team, assignee=team.manager)
    until = _today(team) + timedelta(days=5)
    row = (
        signed_in(team.manager)
        .post(
            _url(team, "snooze", todo_id=todo.pk),
            {"until": until.isoformat(), "next": _url(team, "list") + "?status=snoozed"},
            **HTMX,
        )
        .content.decode()
    )
    assert "Snoozed until" in row
    assert _reload(team, todo).snoozed_until == until


def test_it_takes_a_snoozed_task_out_of_the_open_list(team, signed_in):
    """Snoozed from the open list, the row gives way to a note saying until when: the
    task's actions go with it, as they do when the list is loaded again."""
    todo = _todo(team, title="Call Acme back", assignee=team.manager)
    until = _today(team) + timedelta(days=5)
    client = signed_in(team.manager)
    row = client.post(
        _url(team, "snooze", todo_id=todo.pk),
        {"until": until.isoformat(), "next": _url(team, "list") + "?status=open&assignee=me"},
        **HTMX,
    ).content.decode()
    assert f'<tr id="task-{todo.pk}"' in row
    assert "is hidden until" in row
    assert 'role="status"' in row
    assert "Complete" not in row
    assert 'name="until"' not in row
    assert "Call Acme back" not in client.get(_url(team, "list")).content.decode()


def test_it_does_not_snooze_a_done_task(team, signed_in):
    todo = _todo(team, assignee=team.manager, status="done", completed_at=timezone.now())
    until = _today(team) + timedelta(days=5)
    response = signed_in(team.manager).post(
        _url(team, "snooze", todo_id=todo.pk), {"until": until.isoformat()}, follow=True
    )
    assert "This task is done already" in response.content.decode()
    assert _reload(team, todo).snoozed_until is None


# --- playbooks ----------------------------------------------------------------------------


def test_it_lists_playbooks_with_their_rule_days_and_open_tasks(team, signed_in):
    with tenant_context(team.organization):
        playbook = PlaybookFactory(name="Renewals", trigger="renewal", days=45)
    for status in ("open", "open", "done"):
        _todo(team, playbook=playbook, status=status, account_name=f"Account {status}")
    page = signed_in(team.admin).get(_url(team, "playbooks")).content.decode()
    row = page[page.index("Renewals") : page.index("</tr>", page.index("Renewals"))]
    assert "Renewal within N days" in row
    assert "<td>45</td>" in row
    assert "<td>2</td>" in row  # open tasks


def test_it_offers_the_default_playbooks_when_there_are_none(team, signed_in):
    client = signed_in(team.admin)
    assert "Add the default playbooks" in client.get(_url(team, "playbooks")).content.decode()
    client.post(_url(team, "playbook_defaults"))
    with tenant_context(team.organization):
        assert Playbook.objects.count() == 6


def test_it_creates_a_playbook(team, signed_in):
    response = signed_in(team.admin).post(
        _url(team, "playbook_create"),
        {
            "name": "Quiet accounts",
            "trigger": "inactive",
            "days": "21",
            "task_title": "Check in",
            "due_in_days": "5",
            "email_assignee": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(team.organization):
        playbook = Playbook.objects.get(custom_name="Quiet accounts")
    assert (playbook.trigger, playbook.days, playbook.email_assignee, playbook.is_active) == (
        "inactive",
        21,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("trigger", "days", "error"),
    [
        ("renewal", "", "“Renewal within N days” needs a number of days (for example 60)."),
        ("inactive", "", "“No activity for N days” needs a number of days (for example 14)."),
        ("ttv_overdue", "", "“Time to value overdue” needs a number of days (for example 30)."),
        ("band_drop", "7", "“Health band drops” takes no number of days: leave it empty."),
        ("renewal", "0", "Ensure this value is greater than or equal to 1."),
    ],
)
def test_it_says_when_a_playbook_needs_days_or_takes_none(team, signed_in, trigger, days, error):
    response = signed_in(team.admin).post(
        _url(team, "playbook_create"),
        {"name": "P", "trigger": trigger, "days": days, "task_title": "T", "due_in_days": "3"},
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    with tenant_context(team.organization):
        assert not Playbook.objects.exists()


def test_it_accepts_a_detractor_playbook_without_days(team, signed_in):
    response = signed_in(team.admin).post(
        _url(team, "playbook_create"),
        {"name": "Detractors", "trigger": "detractor", "task_title": "Call", "due_in_days": "2"},
    )
    assert response.status_code == 302


def test_it_refuses_a_second_playbook_of_the_same_name(team, signed_in):
    with tenant_context(team.organization):
        PlaybookFactory(name="Renewals")
    response = signed_in(team.admin).post(
        _url(team, "playbook_create"),
        {"name": "Renewals", "trigger": "triad", "task_title": "T", "due_in_days": "3"},
    )
    assert response.status_code == 400
    assert "A playbook named “Renewals” exists already." in response.content.decode()


def test_it_edits_a_playbook(team, signed_in):
    with tenant_context(team.organization):
        playbook = PlaybookFactory(name="Renewals", trigger="renewal", days=60)
    client = signed_in(team.admin)
    page = client.get(_url(team, "playbook_edit", playbook_id=playbook.pk)).content.decode()
    assert 'value="Renewals"' in page
    response = client.post(
        _url(team, "playbook_edit", playbook_id=playbook.pk),
        {
            "name": "Renewals",
            "trigger": "renewal",
            "days": "90",
            "task_title": "Prep",
            "due_in_days": "10",
        },
    )
    assert response.status_code == 302
    with tenant_context(team.organization):
        playbook.refresh_from_db()
    assert (playbook.days, playbook.task_title, playbook.due_in_days) == (90, "Prep", 10)


def test_it_shows_the_errors_of_an_edit(team, signed_in):
    with tenant_context(team.organization):
        playbook = PlaybookFactory(name="Renewals", trigger="renewal", days=60)
    response = signed_in(team.admin).post(
        _url(team, "playbook_edit", playbook_id=playbook.pk),
        {
            "name": "Renewals",
            "trigger": "renewal",
            "days": "",
            "task_title": "T",
            "due_in_days": "3",
        },
    )
    assert response.status_code == 400
    assert "needs a number of days" in response.content.decode()


def test_it_pauses_and_activates_a_playbook(team, signed_in):
    with tenant_context(team.organization):
        playbook = PlaybookFactory(is_active=True)
    client = signed_in(team.admin)
    client.post(_url(team, "playbook_toggle", playbook_id=playbook.pk))
    with tenant_context(team.organization):
        playbook.refresh_from_db()
        assert playbook.is_active is False
    client.post(_url(team, "playbook_toggle", playbook_id=playbook.pk))
    with tenant_context(team.organization):
        playbook.refresh_from_db()
        assert playbook.is_active is True


# --- another organization's objects -------------------------------------------------------


@pytest.fixture
def elsewhere(team):
    """A task and a playbook of another organization the team's admin also belongs to."""
    other = OrganizationFactory()
    MembershipFactory(organization=other, user=team.admin, role="owner")
    with tenant_context(other):
        return {"organization": other, "todo": TodoFactory(), "playbook": PlaybookFactory()}


@pytest.mark.parametrize(
    ("name", "method", "kwarg"),
    [
        ("complete", "post", "todo"),
        ("snooze", "post", "todo"),
        ("playbook_edit", "get", "playbook"),
        ("playbook_edit", "post", "playbook"),
        ("playbook_toggle", "post", "playbook"),
    ],
)
def test_it_answers_404_for_another_organizations_objects(
    team, signed_in, elsewhere, name, method, kwarg
):
    url = _url(team, name, **{f"{kwarg}_id": elsewhere[kwarg].pk})
    client = signed_in(team.admin)
    response = client.get(url) if method == "get" else client.post(url, {})
    assert response.status_code == 404
    with tenant_context(elsewhere["organization"]):
        todo = Todo.objects.get(pk=elsewhere["todo"].pk)
        playbook = Playbook.objects.get(pk=elsewhere["playbook"].pk)
    assert (todo.status, todo.snoozed_until, playbook.is_active) == ("open", None, True)
