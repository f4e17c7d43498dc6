"""The account 360° page: header, subscriptions and MRR history, health, timeline,
contacts and open tasks; adding a note and completing a task inline."""

import re
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Note
from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from dashboards import account_selectors
from journeys.models import Todo
from journeys.services import lifecycle_stages_ensure
from metrics.models import AccountHealth
from tests.factories import (
    AccountFactory,
    ContactFactory,
    NoteFactory,
    OrganizationFactory,
    ResponseFactory,
    StageTransitionFactory,
    SubscriptionFactory,
    TodoFactory,
    TouchpointFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(team, name="account", **kwargs):
    return reverse(f"dashboards:{name}", kwargs={"org_slug": team.organization.slug, **kwargs})


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


def _snapshot(account, *, day, score, band, **values):
    return AccountHealth.objects.create(
        account=account, day=day, score=score, band=band, **values, contributions=values
    )


@pytest.fixture
def customer(team):
    """An account with a bit of everything, each event a day apart (newest: the note)."""
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        account = AccountFactory(
            name="Padaria Aurora", segment="Enterprise", owner=team.manager, lifecycle_stage=""
        )
        today = organization_today(team.organization)
        SubscriptionFactory(
            account=account,
            plan="Starter",
            amount_cents=10_000,
            started_on=date(2025, 1, 1),
            ended_on=date(2025, 3, 1),
        )
        SubscriptionFactory(
            account=account,
            plan="Pro Anual",
            amount_cents=1_200_000,
            billing_interval="year",
            started_on=date(2025, 3, 1),
        )
        _snapshot(
            account,
            day=today - timedelta(days=7),
            score=70.0,
            band="neutral",
            engagement=40.0,
            satisfaction=30.0,
        )
        _snapshot(
            account, day=today, score=55.0, band="neutral", engagement=35.0, satisfaction=20.0
        )
        contact = ContactFactory(
            account=account, name="Ana Souza", email="ana@aurora.example", role="CFO"
        )
        ContactFactory(account=account, name="Bruno Lima", opted_out_at=_ago(days=30))
        StageTransitionFactory(
            account=account, from_stage="onboarding", to_stage="adoption", changed_at=_ago(days=4)
        )
        TouchpointFactory(
            account=account,
            contact=contact,
            sentiment="negative",
            notes="Unhappy with the export.",
            occurred_at=_ago(days=3),
        )
        ResponseFactory(
            invitation__contact=contact,
            score=4,
            comment="Too slow lately.",
            responded_at=_ago(days=2),
        )
        note = NoteFactory(account=account, author=team.admin, body="Renewal call booked.")
        Note.objects.filter(pk=note.pk).update(created_at=_ago(days=1))
        TodoFactory(account=account, title="Call about the detractor", assignee=team.manager)
    return account


def test_it_shows_the_header_with_owner_segment_stage_mrr_and_health_link(
    team, signed_in, customer
):
    page = signed_in(team.manager).get(_url(team, account_id=customer.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<h1>Padaria Aurora</h1>" in html
    assert team.manager.get_full_name() in html
    assert "Enterprise" in html
    assert "R$1,000.00" in html  # 12,000.00 a year
    assert 'name="stage"' in html  # the stage change form
    assert _url(team, "account_health", account_id=customer.pk) in html


def test_it_lists_subscriptions_and_the_mrr_history(team, signed_in, customer):
    page = signed_in(team.manager).get(_url(team, account_id=customer.pk))
    html = page.content.decode()
    assert "Starter" in html
    assert "Pro Anual" in html
    assert "R$12,000.00" in html  # the yearly amount as billed
    assert "Yearly" in html
    assert 'id="account-mrr"' in html  # the chart
    history = page.context["mrr_history"]
    assert history[0] == (date(2025, 1, 1), 100_00)  # cents
    assert history[1] == (date(2025, 2, 1), 100_00)
    assert history[2] == (date(2025, 3, 1), 1000_00)  # Starter ended on March 1st
    assert history[-1][0] == organization_today(team.organization).replace(day=1)


def test_it_computes_an_accounts_mrr_history_from_its_subscriptions():
    # Saved: a subscription's MRR is a column Postgres computes (Subscription.mrr_cents).
    with tenant_context(OrganizationFactory()):
        account = AccountFactory()
        subscriptions = [
            SubscriptionFactory(
                account=account,
                amount_cents=3_000,
                billing_interval="quarter",
                started_on=date(2025, 1, 15),
            ),
            SubscriptionFactory(
                account=account,
                amount_cents=500,
                started_on=date(2025, 2, 1),
                ended_on=date(2025, 3, 31),
            ),
        ]
    history = account_selectors.account_mrr_history(subscriptions, through=date(2025, 4, 10))
    assert history["month"].tolist() == [date(2025, m, 1) for m in (1, 2, 3, 4)]
    # The second counts at month ends before its end date: February's only.
    assert history["mrr_cents"].tolist() == [1_000, 1_500, 1_000, 1_000]
    assert account_selectors.account_mrr_cents(subscriptions, today=date(2025, 3, 30)) == 1_500
    assert account_selectors.account_mrr_history([], through=date(2025, 4, 10)).empty


def test_it_explains_the_health_score_with_last_weeks_change(team, signed_in, customer):
    html = signed_in(team.manager).get(_url(team, account_id=customer.pk)).content.decode()
    assert "-15.0 points since" in html
    assert '<span class="moved-down">-10.0</span>' in html  # satisfaction: 30 → 20
    assert '<span class="moved-down">-5.0</span>' in html  # engagement: 40 → 35


def test_it_merges_the_timeline_newest_first(team, signed_in, customer):
    html = signed_in(team.manager).get(_url(team, account_id=customer.pk)).content.decode()
    order = [
        html.index(text)
        for text in (
            "Renewal call booked.",
            "Too slow lately.",
            "Unhappy with the export.",
            "Stage: Onboarding → Adoption",
        )
    ]
    assert order == sorted(order)
    assert "Survey answer, NPS (0–10): 4" in html
    assert "Negative" in html
    assert team.admin.get_full_name() in html  # the note's author
    assert "Show older events" not in html


def test_it_lists_contacts_and_open_tasks(team, signed_in, customer):
    html = signed_in(team.manager).get(_url(team, account_id=customer.pk)).content.decode()
    assert "Ana Souza" in html
    assert "ana@aurora.example" in html
    assert "CFO" in html
    assert "Brazilian Portuguese" in html
    assert "Opted out on" in html
    assert "Call about the detractor" in html
    assert _url(team, "account", account_id=customer.pk) + "#tasks" in html  # comes back here


def test_it_shows_empty_states_for_an_account_with_nothing(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory(name="Empty Co")
    page = signed_in(team.manager).get(_url(team, account_id=account.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "R$0.00" in html
    assert "No subscription on file" in html
    assert "No MRR history yet" in html
    assert "No health score for this account" in html
    assert "Nothing has happened with this account yet" in html
    assert "No contacts yet" in html
    assert "No open task for this account" in html
    assert 'id="account-mrr"' not in html  # no chart


def test_it_adds_a_note_with_htmx_and_returns_the_timeline(team, signed_in, customer):
    page = signed_in(team.manager).post(
        _url(team, "account_note", account_id=customer.pk), {"body": "  QBR moved.\r\n"}, **HTMX
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="timeline"')  # the fragment
    assert html.index("QBR moved.") < html.index("Renewal call booked.")
    assert "Note added." in html
    with tenant_context(team.organization):
        note = Note.objects.get(body="QBR moved.")
    assert (note.account_id, note.author) == (customer.pk, team.manager)


def test_it_adds_a_note_without_javascript_and_comes_back(team, signed_in, customer):
    client = signed_in(team.manager)
    page = client.post(_url(team, "account_note", account_id=customer.pk), {"body": "Sent deck."})
    assert page.status_code == 302
    assert page["Location"] == _url(team, account_id=customer.pk) + "#timeline"
    html = client.get(page["Location"]).content.decode()
    assert "Note added to Padaria Aurora." in html
    assert "Sent deck." in html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("   ", "Write the note before adding it."),
        ("x" * 10_001, "A note can have at most 10,000 characters; this one has 10,001."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_it_rejects_an_empty_or_too_long_note(team, signed_in, customer, body, message, htmx):
    page = signed_in(team.manager).post(
        _url(team, "account_note", account_id=customer.pk), {"body": body}, **(HTMX if htmx else {})
    )
    html = page.content.decode()
    assert page.status_code == (200 if htmx else 400)  # htmx swaps only a 2xx answer
    assert message in html
    assert 'aria-invalid="true"' in html
    assert html.lstrip().startswith("<section") is htmx
    with tenant_context(team.organization):
        assert Note.objects.filter(account=customer).count() == 1


def test_it_accepts_a_note_of_exactly_the_maximum_length(team, signed_in, customer):
    body = "y" * 9_998 + "\r\n" + "z"  # the CRLF a browser sends counts as one character
    page = signed_in(team.manager).post(
        _url(team, "account_note", account_id=customer.pk), {"body": body}
    )
    assert page.status_code == 302


def test_it_escapes_every_user_text(team, signed_in):
    attack = "<script>alert(1)</script>"
    with tenant_context(team.organization):
        account = AccountFactory(name=f"Evil {attack}", segment=attack)
        contact = ContactFactory(account=account, name=attack, role=attack)
        ResponseFactory(invitation__contact=contact, comment=attack)
        TouchpointFactory(account=account, notes=attack)
        SubscriptionFactory(account=account, plan=attack)
        TodoFactory(account=account, title=attack, reason=attack)
    client = signed_in(team.manager)
    client.post(_url(team, "account_note", account_id=account.pk), {"body": attack})
    html = client.get(_url(team, account_id=account.pk)).content.decode()
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 9
    fragment = client.post(
        _url(team, "account_note", account_id=account.pk), {"body": attack}, **HTMX
    ).content.decode()
    assert "<script>alert" not in fragment


def test_it_completes_a_task_from_the_page(team, signed_in, customer):
    client = signed_in(team.manager)
    page_url = _url(team, account_id=customer.pk)
    html = client.get(page_url).content.decode()
    with tenant_context(team.organization):
        todo = Todo.objects.get(custom_title="Call about the detractor")
    complete = reverse(
        "todos:complete", kwargs={"org_slug": team.organization.slug, "todo_id": todo.pk}
    )
    assert f'hx-post="{complete}"' in html
    assert f'hx-target="#task-{todo.pk}"' in html

    row = client.post(complete, {"next": page_url + "#tasks"}, **HTMX).content.decode()
    assert row.lstrip().startswith(f'<tr id="task-{todo.pk}"')
    assert "Done" in row
    assert "Call about the detractor" not in client.get(page_url).content.decode()


def test_it_completes_a_task_without_javascript_and_comes_back(team, signed_in, customer):
    client = signed_in(team.manager)
    with tenant_context(team.organization):
        todo = Todo.objects.get(custom_title="Call about the detractor")
    complete = reverse(
        "todos:complete", kwargs={"org_slug": team.organization.slug, "todo_id": todo.pk}
    )
    back = _url(team, account_id=customer.pk) + "#tasks"
    page = client.post(complete, {"next": back})
    assert (page.status_code, page["Location"]) == (302, back)
    with tenant_context(team.organization):
        assert Todo.objects.get(pk=todo.pk).status == "done"


def test_it_answers_404_for_another_organizations_account(team, signed_in):
    other = OrganizationFactory()
    with tenant_context(other):
        foreign = AccountFactory()
    client = signed_in(team.owner)
    assert client.get(_url(team, account_id=foreign.pk)).status_code == 404
    note = client.post(_url(team, "account_note", account_id=foreign.pk), {"body": "Hi"})
    assert note.status_code == 404
    with tenant_context(other):
        assert not Note.objects.exists()


def test_it_links_the_health_portfolio_to_the_account_page(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory()
        _snapshot(account, day=organization_today(team.organization), score=80.0, band="healthy")
    html = signed_in(team.manager).get(_url(team, "health")).content.decode()
    assert f'href="{_url(team, account_id=account.pk)}"' in html


def _history(account, each, *, contact, author):
    """`each` timeline events of every kind, a minute apart: 4 × `each` in all."""
    for i in range(each):
        TouchpointFactory(account=account, contact=contact, occurred_at=_ago(minutes=4 * i))
        ResponseFactory(
            invitation=None, account=account, contact=contact, responded_at=_ago(minutes=4 * i + 1)
        )
        NoteFactory(account=account, author=author, body=f"n{i}")
        StageTransitionFactory(
            account=account, changed_by=author, changed_at=_ago(minutes=4 * i + 3)
        )


def test_it_runs_the_same_queries_for_2_and_200_timeline_items(team, signed_in):
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        accounts = []
        for _ in range(2):
            account = AccountFactory(owner=team.admin)
            ContactFactory(account=account)
            SubscriptionFactory(account=account)
            TodoFactory(account=account, assignee=team.manager)
            _snapshot(
                account, day=organization_today(team.organization), score=50.0, band="neutral"
            )
            accounts.append(account)
        few, many = accounts
        contact = ContactFactory(account=few)
        NoteFactory(account=few, author=team.admin)
        ResponseFactory(invitation=None, account=few, contact=contact)
        _history(many, 50, contact=ContactFactory(account=many), author=team.owner)
    client = signed_in(team.manager)
    client.get(_url(team, account_id=few.pk))  # the session, warmed up
    counts = []
    for account, items in ((few, 2), (many, 200)):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(_url(team, account_id=account.pk))
        assert page.status_code == 200
        assert len(page.context["timeline"].items) == min(items, 50)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # Session, user, membership, the tenant's savepoints and settings (7), then the
    # account, its subscriptions, the stages, 4 kinds of events, health (2), its trend
    # over a year and the model's band thresholds (2), contacts, tasks, and the
    # layout's organizations: 23 when written.
    assert counts[0] <= 23, counts
    assert "Show older events" in page.content.decode()


def test_it_shows_older_events_page_by_page_without_losing_ties(team, signed_in):
    same_moment = timezone.now() - timedelta(hours=1)
    with tenant_context(team.organization):
        account = AccountFactory()
        notes = NoteFactory.create_batch(60, account=account, author=team.admin)
        Note.objects.filter(account=account).update(created_at=same_moment)
        for i in range(10):  # at the same moment as the notes: touchpoints come first
            TouchpointFactory(account=account, occurred_at=same_moment, notes=f"touch {i}")
    client = signed_in(team.manager)
    url = _url(team, account_id=account.pk)
    page = client.get(url)
    timeline = page.context["timeline"]
    assert [item.kind for item in timeline.items[:10]] == ["touchpoint"] * 10
    assert [item.event.pk for item in timeline.items[10:]] == [n.pk for n in notes[::-1][:40]]
    assert timeline.more

    html = page.content.decode()
    older = re.search(r'href="([^"]*before=[^"#]*)#timeline"', html)[1].replace("&amp;", "&")
    fragment = client.get(older, **HTMX)
    rest = fragment.context["timeline"]
    assert [item.event.pk for item in rest.items] == [n.pk for n in notes[::-1][40:]]
    assert not rest.more
    assert fragment.content.decode().lstrip().startswith('<li class="timeline-item')
    plain = client.get(older).content.decode()  # without JavaScript: the whole page
    assert "Back to the latest events" in plain


def test_it_ignores_a_cursor_that_makes_no_sense(team, signed_in):
    with tenant_context(team.organization):
        account = AccountFactory()
    for cursor in ("nonsense", "1.unknown.2", "99999999999999999999.note.1"):
        page = signed_in(team.manager).get(_url(team, account_id=account.pk), {"before": cursor})
        assert page.status_code == 200


def test_it_reads_back_the_cursor_it_writes():
    at = datetime(2026, 1, 5, 12, 30, 15, 123456, tzinfo=account_selectors.UTC)
    item = account_selectors.TimelineItem("note", at, NoteFactory.build(pk=7))
    cursor = account_selectors.Cursor.parse(item.cursor)
    assert cursor == account_selectors.Cursor(at=at, rank=2, pk=7)
