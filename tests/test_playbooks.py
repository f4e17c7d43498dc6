"""Playbooks: each rule's trigger, its deduplication, the task it opens, the number of
queries a run takes, and the email to the assignee (through a real SMTP server)."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from csplatform import tasks as csplatform_tasks
from csplatform.tenancy import tenant_context
from journeys import tasks as journey_tasks
from journeys.models import Playbook, PlaybookTrigger, Todo
from metrics.playbooks import playbooks_default, playbooks_run, playbooks_run_and_notify
from surveys.models import SCALES, SurveyKind, is_negative
from tests.factories import (
    AccountFactory,
    AccountHealthFactory,
    DailyFeatureUsageFactory,
    DailyUsageFactory,
    MembershipFactory,
    OrganizationFactory,
    PlaybookFactory,
    ResponseFactory,
    SubscriptionFactory,
    UserFactory,
    ValueMilestoneFactory,
)

TODAY = date(2026, 11, 24)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(time_zone="America/Sao_Paulo", default_locale="en")


def _customer(owner=None, *, started_on=date(2026, 1, 10), interval="month", **subscription):
    account = AccountFactory(owner=owner)
    SubscriptionFactory(
        account=account, started_on=started_on, billing_interval=interval, **subscription
    )
    return account


def _todos(**lookup):
    return list(Todo.objects.filter(**lookup).order_by("pk"))


def _keys():
    return sorted(Todo.objects.values_list("trigger_key", flat=True))


def _complete(todo):
    todo.status = "done"
    todo.completed_at = timezone.now()
    todo.save()


def _health(account, day, band, flags=()):
    return AccountHealthFactory(account=account, day=day, band=band, flags=list(flags))


def _respond(account, kind, score, at):
    return ResponseFactory(
        invitation__contact__account=account, kind=kind, score=score, responded_at=at
    )


def _local(day, hour=12, minute=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SAO_PAULO)


# --- what a task holds --------------------------------------------------------------------


def _member(org):
    return MembershipFactory(organization=org, role="manager").user


def test_it_opens_a_task_for_the_account_owner_with_title_due_date_and_reason(org):
    owner = _member(org)
    with tenant_context(org):
        playbook = PlaybookFactory(
            trigger="band_drop", task_title="Call about health", due_in_days=4
        )
        account = AccountFactory(owner=owner)
        _health(account, TODAY - timedelta(days=1), "neutral")
        _health(account, TODAY, "at_risk")
        ids = playbooks_run(today=TODAY)
        [todo] = _todos()
    assert ids == [todo.pk]
    assert todo.title == "Call about health"
    assert todo.account_id == account.pk
    assert todo.assignee_id == owner.pk
    assert todo.due_on == TODAY + timedelta(days=4)
    assert todo.playbook_id == playbook.pk
    assert todo.trigger_key == "band:2026-11-24"
    assert todo.reason == "Health fell from neutral to at risk on 2026-11-24"
    assert todo.status == "open"


def test_it_leaves_the_assignee_empty_when_the_account_has_no_owner(org):
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        account = AccountFactory(owner=None)
        _health(account, TODAY - timedelta(days=1), "healthy")
        _health(account, TODAY, "neutral")
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.assignee_id is None


def test_it_writes_the_reason_in_the_readers_language(org):
    org.default_locale = "pt-br"  # the organization's language does not decide
    org.save()
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        account = AccountFactory()
        _health(account, TODAY - timedelta(days=1), "healthy")
        _health(account, TODAY, "neutral")
        playbooks_run(today=TODAY)
        [todo] = _todos()
    with translation.override("pt-br"):
        assert "neutro" in todo.reason  # the band's Portuguese name
        assert "2026-11-24" in todo.reason
    with translation.override("en"):
        assert todo.reason == "Health fell from healthy to neutral on 2026-11-24"


def test_it_ignores_paused_playbooks(org):
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop", is_active=False)
        account = AccountFactory()
        _health(account, TODAY - timedelta(days=1), "healthy")
        _health(account, TODAY, "at_risk")
        assert playbooks_run(today=TODAY) == []


def test_it_uses_today_in_the_organizations_time_zone(org, monkeypatch):
    # 02:00 UTC on the 25th is still the 24th in São Paulo.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        account = AccountFactory()
        _health(account, TODAY - timedelta(days=1), "healthy")
        _health(account, TODAY, "at_risk")
        playbooks_run()
        assert _keys() == ["band:2026-11-24"]


def test_it_never_reads_another_organizations_data(org):
    other = OrganizationFactory()
    with tenant_context(other):
        stranger = AccountFactory()
        _health(stranger, TODAY - timedelta(days=1), "healthy")
        _health(stranger, TODAY, "at_risk")
        _respond(stranger, "nps", 0, _local(TODAY))
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        PlaybookFactory(trigger="detractor")
        assert playbooks_run(today=TODAY) == []
    with tenant_context(other):
        assert _todos() == []


# --- band_drop ----------------------------------------------------------------------------


def test_it_opens_a_band_drop_task_only_when_the_band_gets_worse(org):
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        cases = {
            ("healthy", "neutral"): True,
            ("healthy", "at_risk"): True,
            ("neutral", "at_risk"): True,
            ("neutral", "neutral"): False,
            ("at_risk", "neutral"): False,
            ("neutral", "healthy"): False,
        }
        accounts = {}
        for (before, after), _drops in cases.items():
            accounts[before, after] = account = AccountFactory()
            _health(account, TODAY - timedelta(days=1), before)
            _health(account, TODAY, after)
        first_neutral = AccountFactory()  # nothing before today to compare with
        _health(first_neutral, TODAY, "neutral")
        first_at_risk = AccountFactory()  # a first score at risk is news too
        _health(first_at_risk, TODAY, "at_risk")
        playbooks_run(today=TODAY)
        opened = {todo.account_id: todo for todo in _todos()}
    dropped = {accounts[case].pk for case, drops in cases.items() if drops}
    assert set(opened) == dropped | {first_at_risk.pk}
    assert opened[first_at_risk.pk].reason == "Health is at risk on its first score, 2026-11-24"


def test_it_compares_with_the_latest_snapshot_before_today_across_gaps(org):
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        steady = AccountFactory()
        _health(steady, TODAY - timedelta(days=5), "healthy")
        _health(steady, TODAY - timedelta(days=3), "neutral")  # the latest before today
        _health(steady, TODAY, "neutral")
        fell = AccountFactory()
        _health(fell, TODAY - timedelta(days=9), "neutral")
        _health(fell, TODAY, "at_risk")
        playbooks_run(today=TODAY)
        assert [t.account for t in _todos()] == [fell]


def test_it_dedupes_band_drops(org):
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        account = AccountFactory()
        _health(account, date(2026, 11, 22), "healthy")
        _health(account, date(2026, 11, 23), "neutral")
        assert len(playbooks_run(today=date(2026, 11, 23))) == 1
        assert playbooks_run(today=date(2026, 11, 23)) == []  # twice: one task
        _health(account, date(2026, 11, 24), "at_risk")
        assert playbooks_run(today=date(2026, 11, 24)) == []  # one open task at a time
        [todo] = _todos()
        _complete(todo)
        assert playbooks_run(today=date(2026, 11, 23)) == []  # the same drop: never again
        assert len(playbooks_run(today=date(2026, 11, 24))) == 1  # a new drop
        assert _keys() == ["band:2026-11-23", "band:2026-11-24"]


# --- detractor ----------------------------------------------------------------------------


def test_it_opens_a_detractor_task_for_a_low_score_with_its_reason(org):
    with tenant_context(org):
        PlaybookFactory(trigger="detractor", days=7)
        account = AccountFactory()
        response = _respond(account, "nps", 3, _local(TODAY - timedelta(days=4)))
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.trigger_key == f"response:{response.pk}"
    assert todo.reason == "NPS 3 on 2026-11-20"


def test_it_treats_as_negative_exactly_what_surveys_call_negative(org):
    with tenant_context(org):
        PlaybookFactory(trigger="detractor")
        expected = set()
        for kind in SurveyKind:
            for score in SCALES[kind]:
                account = AccountFactory()
                _respond(account, kind, score, _local(TODAY))
                if is_negative(kind, score):
                    expected.add(account.pk)
        playbooks_run(today=TODAY)
        assert {t.account_id for t in _todos()} == expected
    assert len(expected) == 7 + 2 + 3


def test_it_counts_responses_of_the_last_n_days_in_the_organizations_time_zone(org):
    with tenant_context(org):
        PlaybookFactory(trigger="detractor", days=7)
        inside = AccountFactory()
        _respond(inside, "csat", 1, _local(TODAY - timedelta(days=6), 0, 30))  # 18th, 00:30
        outside = AccountFactory()
        _respond(outside, "csat", 1, _local(TODAY - timedelta(days=7), 23, 30))  # 17th, 23:30
        playbooks_run(today=TODAY)
        assert [t.account for t in _todos()] == [inside]


def test_it_uses_seven_days_when_a_detractor_playbook_has_none(org):
    with tenant_context(org):
        PlaybookFactory(trigger="detractor", days=None)
        recent, old = AccountFactory(), AccountFactory()
        _respond(recent, "ces", 2, _local(TODAY - timedelta(days=6)))
        _respond(old, "ces", 2, _local(TODAY - timedelta(days=7)))
        playbooks_run(today=TODAY)
        assert [t.account for t in _todos()] == [recent]


def test_it_dedupes_detractor_responses(org):
    with tenant_context(org):
        PlaybookFactory(trigger="detractor")
        account = AccountFactory()
        first = _respond(account, "nps", 2, _local(TODAY - timedelta(days=3)))
        playbooks_run(today=TODAY)
        assert playbooks_run(today=TODAY) == []
        [todo] = _todos()
        _complete(todo)
        assert playbooks_run(today=TODAY) == []  # the same response: never again
        second = _respond(account, "nps", 4, _local(TODAY))
        assert len(playbooks_run(today=TODAY)) == 1
        assert _keys() == sorted([f"response:{first.pk}", f"response:{second.pk}"])


# --- renewal ------------------------------------------------------------------------------


def test_it_opens_a_renewal_task_within_n_days_of_the_next_anniversary(org):
    with tenant_context(org):
        PlaybookFactory(trigger="renewal", days=60)
        soon = _customer(started_on=date(2025, 12, 10), interval="year")
        _customer(started_on=date(2025, 3, 1), interval="year")  # 2027-03-01: too far
        _customer(started_on=date(2025, 12, 10), interval="month")  # monthly: not counted
        _customer(started_on=date(2025, 12, 10), interval="year", ended_on=date(2026, 12, 10))
        _customer(started_on=date(2025, 12, 10), interval="year", amount_cents=0)  # free
        _customer(started_on=date(2026, 12, 1), interval="year")  # not a customer yet
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.account_id == soon.pk
    assert todo.trigger_key == "renewal:2026-12-10"
    assert todo.reason == "Renewal on 2026-12-10"


def test_it_finds_quarterly_anniversaries_from_the_start_at_the_end_of_months(org):
    with tenant_context(org):
        PlaybookFactory(trigger="renewal", days=10)
        # 2026-02-28, 05-30, 08-30, then 11-30: counted from the start, not the last one.
        _customer(started_on=date(2025, 11, 30), interval="quarter")
        playbooks_run(today=TODAY)
        assert _keys() == ["renewal:2026-11-30"]


def test_it_takes_the_earliest_renewal_of_an_account_and_none_on_the_day_itself(org):
    with tenant_context(org):
        PlaybookFactory(trigger="renewal", days=60)
        account = _customer(started_on=date(2025, 1, 5), interval="year")  # 2027-01-05
        SubscriptionFactory(account=account, started_on=date(2025, 12, 20), billing_interval="year")
        today_is_the_day = _customer(started_on=date(2025, 11, 24), interval="year")
        playbooks_run(today=TODAY)
        todos = _todos()
    assert [(t.account_id, t.trigger_key) for t in todos] == [(account.pk, "renewal:2026-12-20")]
    assert today_is_the_day.pk not in [t.account_id for t in todos]  # next: 2027-11-24


def test_it_dedupes_renewals_and_opens_next_years(org):
    with tenant_context(org):
        PlaybookFactory(trigger="renewal", days=60)
        _customer(started_on=date(2025, 12, 10), interval="year")
        assert len(playbooks_run(today=TODAY)) == 1
        assert playbooks_run(today=TODAY + timedelta(days=1)) == []
        [todo] = _todos()
        _complete(todo)
        assert playbooks_run(today=TODAY + timedelta(days=2)) == []  # the same renewal
        assert len(playbooks_run(today=date(2027, 11, 20))) == 1
        assert _keys() == ["renewal:2026-12-10", "renewal:2027-12-10"]


# --- inactive -----------------------------------------------------------------------------


def test_it_leaves_the_task_unassigned_when_the_owner_has_left_the_organization(org):
    former = UserFactory()  # owns the account, but is no member (any more)
    MembershipFactory(user=former)  # a member elsewhere
    with tenant_context(org):
        PlaybookFactory(trigger="band_drop")
        account = AccountFactory(owner=former)
        _health(account, TODAY, "at_risk")
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.assignee_id is None


def test_it_counts_only_paying_accounts_as_customers(org):
    with tenant_context(org):
        PlaybookFactory(trigger="inactive", days=14)
        _customer(amount_cents=0)  # a free plan, idle: not a customer
        playbooks_run(today=TODAY)
        assert _todos() == []


def test_it_opens_an_inactive_task_after_n_days_without_usage(org):
    with tenant_context(org):
        PlaybookFactory(trigger="inactive", days=14)
        idle = _customer()
        DailyUsageFactory(account=idle, day=date(2026, 10, 1))
        DailyUsageFactory(account=idle, day=date(2026, 11, 10))  # 14 days ago: the last
        active = _customer()
        DailyUsageFactory(account=active, day=date(2026, 11, 11))  # within the 14 days
        gone = _customer(ended_on=date(2026, 11, 1))  # no longer a customer
        DailyUsageFactory(account=gone, day=date(2026, 9, 1))
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.account_id == idle.pk
    assert todo.trigger_key == "inactive:2026-11-10"
    assert todo.reason == "No activity since 2026-11-10"


def test_it_opens_an_inactive_task_for_a_customer_never_active_once_n_days_have_passed(org):
    with tenant_context(org):
        PlaybookFactory(trigger="inactive", days=14)
        never = _customer(started_on=date(2026, 10, 1))
        _customer(started_on=date(2026, 11, 20))  # a customer for 4 days: not idle for 14
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.account_id == never.pk
    assert todo.trigger_key == "inactive:never"
    assert todo.reason == "No activity since becoming a customer on 2026-10-01"


def test_it_dedupes_inactivity_and_opens_again_after_new_activity_stops(org):
    with tenant_context(org):
        PlaybookFactory(trigger="inactive", days=14)
        account = _customer()
        DailyUsageFactory(account=account, day=date(2026, 11, 1))
        assert len(playbooks_run(today=TODAY)) == 1
        assert playbooks_run(today=TODAY) == []
        [todo] = _todos()
        _complete(todo)
        assert playbooks_run(today=TODAY + timedelta(days=3)) == []  # still the same spell
        DailyUsageFactory(account=account, day=date(2026, 11, 25))
        assert playbooks_run(today=date(2026, 12, 8)) == []  # 13 days: not yet
        assert len(playbooks_run(today=date(2026, 12, 9))) == 1
        assert _keys() == ["inactive:2026-11-01", "inactive:2026-11-25"]


# --- ttv_overdue --------------------------------------------------------------------------


def test_it_opens_a_time_to_value_task_for_a_customer_past_n_days_without_a_milestone(org):
    with tenant_context(org):
        ValueMilestoneFactory(event_name="report.generated")
        PlaybookFactory(trigger="ttv_overdue", days=30)
        waiting = _customer(started_on=date(2026, 10, 10))
        DailyFeatureUsageFactory(account=waiting, feature="login", day=date(2026, 11, 1))
        reached = _customer(started_on=date(2026, 10, 10))
        DailyFeatureUsageFactory(account=reached, feature="report.generated", day=TODAY)
        _customer(started_on=date(2026, 10, 25))  # exactly 30 days: not more
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.account_id == waiting.pk
    assert todo.trigger_key == "ttv"
    assert todo.reason == "No value milestone 45 days after becoming a customer"


def test_it_counts_time_to_value_from_the_first_subscription(org):
    with tenant_context(org):
        ValueMilestoneFactory(event_name="report.generated")
        PlaybookFactory(trigger="ttv_overdue", days=30)
        account = _customer(started_on=date(2026, 1, 10), ended_on=date(2026, 11, 1))
        SubscriptionFactory(account=account, started_on=date(2026, 11, 1))  # an upgrade
        playbooks_run(today=TODAY)
        [todo] = _todos()
    assert todo.reason == "No value milestone 318 days after becoming a customer"


def test_it_opens_no_time_to_value_task_when_the_organization_has_no_milestones(org):
    with tenant_context(org):
        PlaybookFactory(trigger="ttv_overdue", days=30)
        _customer(started_on=date(2026, 1, 10))
        assert playbooks_run(today=TODAY) == []


def test_it_opens_a_time_to_value_task_once_ever(org):
    with tenant_context(org):
        ValueMilestoneFactory()
        PlaybookFactory(trigger="ttv_overdue", days=30)
        _customer(started_on=date(2026, 1, 10))
        assert len(playbooks_run(today=TODAY)) == 1
        assert playbooks_run(today=TODAY) == []
        [todo] = _todos()
        _complete(todo)
        assert playbooks_run(today=TODAY + timedelta(days=60)) == []


# --- triad --------------------------------------------------------------------------------


def test_it_opens_a_triad_task_for_todays_flags(org):
    with tenant_context(org):
        PlaybookFactory(trigger="triad")
        happy = AccountFactory()
        _health(happy, TODAY, "healthy", ["happy_unengaged"])
        engaged = AccountFactory()
        _health(engaged, TODAY, "neutral", ["engaged_no_results"])
        yesterday_only = AccountFactory()
        _health(yesterday_only, TODAY - timedelta(days=1), "healthy", ["happy_unengaged"])
        _health(yesterday_only, TODAY, "healthy")
        _health(AccountFactory(), TODAY, "healthy", ["something_else"])
        playbooks_run(today=TODAY)
        todos = _todos()
    assert [(t.account_id, t.trigger_key, t.reason) for t in todos] == [
        (happy.pk, "triad:happy_unengaged:2026-11", "Happy without engagement or results"),
        (engaged.pk, "triad:engaged_no_results:2026-11", "Engaged without results"),
    ]


def test_it_opens_a_triad_task_at_most_once_a_month_per_flag(org):
    with tenant_context(org):
        PlaybookFactory(trigger="triad")
        account = AccountFactory()
        for day in (TODAY, TODAY + timedelta(days=1), date(2026, 12, 1)):
            _health(account, day, "healthy", ["happy_unengaged"])
        assert len(playbooks_run(today=TODAY)) == 1
        assert playbooks_run(today=TODAY) == []
        [todo] = _todos()
        _complete(todo)
        assert playbooks_run(today=TODAY + timedelta(days=1)) == []  # the same month
        assert len(playbooks_run(today=date(2026, 12, 1))) == 1
        assert _keys() == ["triad:happy_unengaged:2026-11", "triad:happy_unengaged:2026-12"]


# --- a run as a whole ---------------------------------------------------------------------


def _portfolio(n):
    """n accounts, each matching every rule."""
    ValueMilestoneFactory()
    for _i in range(n):
        account = _customer(owner=None, started_on=date(2025, 12, 10), interval="year")
        _health(account, TODAY - timedelta(days=1), "healthy")
        _health(account, TODAY, "neutral", ["happy_unengaged"])
        _respond(account, "nps", 1, _local(TODAY))


@pytest.mark.parametrize("accounts", [3, 30])
def test_it_runs_in_a_constant_number_of_queries(org, accounts, django_assert_num_queries):
    with tenant_context(org):
        for trigger in PlaybookTrigger:
            PlaybookFactory(trigger=trigger, days=60 if trigger == "renewal" else 14)
        _portfolio(accounts)
        with django_assert_num_queries(1 + len(PlaybookTrigger)):  # the playbooks, one each
            ids = playbooks_run(today=TODAY)
    assert len(ids) == accounts * len(PlaybookTrigger)


def test_it_creates_the_default_playbooks_once(org):
    with tenant_context(org):
        created = playbooks_default()
        assert sorted(p.trigger for p in created) == sorted(PlaybookTrigger.values)
        assert playbooks_default() == []
        active = dict(Playbook.objects.values_list("trigger", "is_active"))
    assert active == {
        "band_drop": True,
        "detractor": True,
        "renewal": True,
        "inactive": False,
        "ttv_overdue": False,
        "triad": False,
    }


def test_it_keeps_an_organizations_own_playbook_of_a_rule_when_adding_defaults(org):
    with tenant_context(org):
        PlaybookFactory(name="Our renewals", trigger="renewal", days=90)
        created = playbooks_default()
        assert "renewal" not in [p.trigger for p in created]
        assert Playbook.objects.filter(trigger="renewal").count() == 1


# --- emails -------------------------------------------------------------------------------


def _bodies(message):
    """The plain text and HTML of a message the SMTP server received."""
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    return parts["text/plain"], parts["text/html"]


def _band_drop(account):
    _health(account, TODAY - timedelta(days=1), "healthy")
    _health(account, TODAY, "at_risk")


def test_it_emails_the_assignee_in_their_language(
    org, smtp, monkeypatch, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://cs.example.com"
    monkeypatch.setattr(  # the worker, here: run the task the outbox publishes
        csplatform_tasks,
        "outbox_publish",
        lambda name, org_id, args, outbox_id, **options: journey_tasks.email_new_todos(
            org_id, *args, outbox_id=outbox_id
        ),
    )
    portuguese = UserFactory(email="ana@vendor.example", language="pt-br")
    english = UserFactory(email="bob@vendor.example", language="")  # the org's: English
    for user in (portuguese, english):
        MembershipFactory(organization=org, user=user)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        PlaybookFactory(trigger="detractor", email_assignee=True, task_title="Call back")
        for owner, name in ((portuguese, "Acme"), (english, "Globex")):
            account = AccountFactory(owner=owner, name=name)
            _respond(account, "nps", 2, _local(TODAY))
        ids = playbooks_run_and_notify(today=TODAY)
    assert len(ids) == 2
    messages = {m["To"]: m for m in smtp.wait_for(2)}
    assert set(messages) == {"ana@vendor.example", "bob@vendor.example"}
    due = TODAY + timedelta(days=3)
    for address, language, due_text, reason in (
        ("ana@vendor.example", "pt-br", due.strftime("%d/%m/%Y"), "NPS 2 em 2026-11-24"),
        ("bob@vendor.example", "en", due.strftime("%m/%d/%Y"), "NPS 2 on 2026-11-24"),
    ):
        text, html = _bodies(messages[address])
        assert f'<html lang="{language}">' in html
        assert due_text in text
        assert "Call back" in text
        assert reason in text
        assert f"https://cs.example.com/o/{org.slug}/tasks/" in text
        assert f'href="https://cs.example.com/o/{org.slug}/tasks/"' in html


def test_it_emails_the_assignee_of_a_task_the_recompute_command_opens(
    org, smtp, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    # The command and the nightly task are one path: the same tasks, the same emails.
    time_machine.move_to(_local(TODAY, 15), tick=False)
    published = []

    def publish(name, org_id, args=(), *, outbox_id=None, **kwargs):  # the worker, here
        published.append(name)
        if name == journey_tasks.email_new_todos.name:
            journey_tasks.email_new_todos(org_id, *args, outbox_id=outbox_id)
        return True

    monkeypatch.setattr(csplatform_tasks, "outbox_publish", publish)
    owner = UserFactory(email="ana@vendor.example", language="en")
    MembershipFactory(organization=org, user=owner)
    with tenant_context(org):
        PlaybookFactory(trigger="detractor", email_assignee=True, task_title="Call back")
        account = AccountFactory(owner=owner, name="Acme")
        _respond(account, "nps", 2, _local(TODAY))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recompute_metrics", "--org", org.slug, stdout=StringIO())
    [message] = smtp.wait_for(1, timeout=5)
    assert message["To"] == "ana@vendor.example"
    text, _html = _bodies(message)
    assert "Call back" in text
    assert "Acme" in text
    with tenant_context(org):
        [todo] = _todos(account=account)
    assert todo.assignee_id == owner.pk
    # A second run opens nothing, so it emails nothing.
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recompute_metrics", "--org", org.slug, stdout=StringIO())
    assert smtp.messages == []
    assert published.count(journey_tasks.email_new_todos.name) == 1


def test_it_emails_only_for_playbooks_that_ask_and_tasks_with_an_assignee(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        csplatform_tasks,
        "outbox_publish",
        lambda name, org_id, args, outbox_id, **options: queued.append((name, org_id, *args)),
    )
    owner = _member(org)
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        PlaybookFactory(trigger="detractor", email_assignee=False)
        PlaybookFactory(trigger="band_drop", email_assignee=True)
        _respond(AccountFactory(owner=owner), "nps", 0, _local(TODAY))  # no email asked
        _band_drop(AccountFactory(owner=None))  # nobody to email
        assert len(playbooks_run_and_notify(today=TODAY)) == 2
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True), tenant_context(org):
        owned = AccountFactory(owner=owner)
        _band_drop(owned)
        ids = playbooks_run_and_notify(today=TODAY)
        [todo] = _todos(account=owned)
    assert ids == [todo.pk]
    assert queued == [("journeys.tasks.email_new_tasks", org.pk, [todo.pk])]


def test_it_sends_one_email_per_assignee_for_several_new_tasks(org, smtp):
    owner = UserFactory(email="owner@vendor.example", language="en")
    MembershipFactory(organization=org, user=owner, role="manager")
    with tenant_context(org):
        PlaybookFactory(trigger="detractor", email_assignee=True)
        for name in ("Acme", "Globex"):
            _respond(AccountFactory(owner=owner, name=name), "csat", 1, _local(TODAY))
        ids = playbooks_run(today=TODAY)
    assert journey_tasks.email_new_todos(org.pk, ids) == 1
    [message] = smtp.wait_for(1)
    assert message["Subject"] == f"{org.name}: 2 new tasks for your accounts"
    body, _html = _bodies(message)
    assert "Acme" in body
    assert "Globex" in body


def test_it_runs_the_new_to_dos_email_stored_in_the_outbox_under_its_old_name():
    # Outbox messages name their task by string (csplatform.outbox.outbox_publish looks it
    # up); those recorded before the to-do model was renamed must still find it.
    from csplatform.celery import app

    stored = app.tasks.get("journeys.tasks.email_new_tasks")
    assert stored is not None
    assert stored.name == journey_tasks.email_new_todos.name
