"""Playbooks: the organization's rules that open a task for an account's owner
(see docs/playbooks.md for each rule's definition).

`playbooks_run` evaluates every active playbook of the current organization with one
`INSERT … SELECT … ON CONFLICT DO NOTHING` per playbook: the SELECT finds the accounts
the rule matches today, with a key naming the occurrence (the response, the renewal
date, the day of the drop…), and the task table's two unique constraints do the
deduplication: at most one open task per playbook and account, and never a second
task for the same occurrence, even once the first is done. The number of queries
does not depend on the number of accounts.

The SELECTs read tenant-owned tables with no organization predicate of their own:
row-level security (the transaction-local `app.organization_id` that tenant_context
sets) restricts them to the current organization, as in surveys.sending.

Days are the organization's: "today" is the date in its time zone, and a response's
day is the day it was given there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_noop

from accounts.tenancy import current_organization
from csplatform.clock import organization_midnight, organization_today
from csplatform.tasks import enqueue_on_commit
from csplatform.texts import message_define
from journeys.models import Playbook, PlaybookTrigger, TodoStatus
from metrics.models import HealthBand

# N when a playbook that takes one has none (docs/playbooks.md).
DEFAULT_DAYS = {
    PlaybookTrigger.DETRACTOR: 7,
    PlaybookTrigger.RENEWAL: 60,
    PlaybookTrigger.INACTIVE: 14,
    PlaybookTrigger.TTV_OVERDUE: 30,
}
# The rules whose N is in their very name ("within N days", "for N days"): a playbook
# of these must state it (dashboards.forms.todos.PlaybookForm); the defaults above only
# cover rows written otherwise.
DAYS_REQUIRED = {PlaybookTrigger.RENEWAL, PlaybookTrigger.INACTIVE, PlaybookTrigger.TTV_OVERDUE}
TRIAD_FLAGS = ("happy_unengaged", "engaged_no_results")

# A task's reason is stored as one of these keys with its parameters (csplatform.texts)
# and read in its reader's language; a band is stored as its value.
_lower = lazy(lambda label: str(label).lower(), str)
_BANDS = {str(value): _lower(label) for value, label in HealthBand.choices}
REASON_BAND_FELL = message_define(
    "task_reason.band_fell",
    gettext_noop("Health fell from %(before)s to %(after)s on %(day)s"),
    before=_BANDS,
    after=_BANDS,
)
REASON_BAND_FIRST_AT_RISK = message_define(
    "task_reason.band_first_at_risk",
    gettext_noop("Health is at risk on its first score, %(day)s"),
)
REASON_DETRACTOR = message_define(
    "task_reason.detractor",
    gettext_noop("%(kind)s %(score)s on %(day)s"),
    kind={"nps": "NPS", "csat": "CSAT", "ces": "CES"},
)
REASON_RENEWAL = message_define("task_reason.renewal", gettext_noop("Renewal on %(day)s"))
REASON_INACTIVE = message_define("task_reason.inactive", gettext_noop("No activity since %(day)s"))
REASON_NEVER_ACTIVE = message_define(
    "task_reason.never_active",
    gettext_noop("No activity since becoming a customer on %(day)s"),
)
REASON_TTV_OVERDUE = message_define(
    "task_reason.ttv_overdue",
    gettext_noop("No value milestone %(days)s days after becoming a customer"),
)
REASON_TRIAD = {
    "happy_unengaged": message_define(
        "task_reason.triad.happy_unengaged", gettext_noop("Happy without engagement or results")
    ),
    "engaged_no_results": message_define(
        "task_reason.triad.engaged_no_results", gettext_noop("Engaged without results")
    ),
}


class _Statement:
    """Builds one statement's SQL and its named parameters (values are never inlined)."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def reason(self, key: str, **parts: str) -> str:
        """SQL for a task's `reason_key` and `reason_params` columns: `key` and a JSON
        object of `parts`, SQL expressions (language-neutral values)."""
        pairs = ", ".join(f"{self.param(name)}, {part}" for name, part in parts.items())
        return f"{key} AS reason_key, jsonb_build_object({pairs}) AS reason_params"

    def choice(self, column: str, labels: dict[str, str]) -> str:
        """SQL for the value `labels` gives `column`'s value."""
        cases = " ".join(
            f"WHEN {self.param(value)} THEN {self.param(label)}" for value, label in labels.items()
        )
        return f"CASE {column} {cases} END"


_ISO_DAY = "to_char({}, 'YYYY-MM-DD')"
# Customers today: accounts with a paying subscription active on the day (as in
# docs/metrics.md#customer and the health snapshot).
_CUSTOMERS = """
    SELECT s.account_id, min(s.started_on) AS first_start
    FROM accounts_subscription s
    WHERE s.mrr_cents > 0  -- billed: paying does not depend on an exchange rate
    GROUP BY s.account_id
    HAVING bool_or(s.started_on <= {today} AND (s.ended_on IS NULL OR s.ended_on > {today}))
"""
_BAND_RANK = "CASE {} WHEN 'healthy' THEN 2 WHEN 'neutral' THEN 1 ELSE 0 END"


def _band_drop(q: _Statement, today: date, days: int | None) -> str:
    """Today's band is worse than the latest one before; or, on an account's first
    score, at risk (a new customer, or the first day health is computed, is news)."""
    t = q.param(today)
    first, fell = q.param(REASON_BAND_FIRST_AT_RISK), q.param(REASON_BAND_FELL)
    reason = q.reason(
        f"CASE WHEN before.band IS NULL THEN {first} ELSE {fell} END",
        before="before.band",
        after="h.band",
        day=_ISO_DAY.format("h.day"),
    )
    return f"""
    SELECT h.account_id, 'band:' || {_ISO_DAY.format("h.day")} AS trigger_key, {reason}
    FROM metrics_accounthealth h
    LEFT JOIN LATERAL (
        SELECT p.band FROM metrics_accounthealth p
        WHERE p.account_id = h.account_id AND p.day < h.day
        ORDER BY p.day DESC LIMIT 1
    ) before ON true
    WHERE h.day = {t}
      AND (({_BAND_RANK.format("h.band")} < {_BAND_RANK.format("before.band")})
           OR (before.band IS NULL AND h.band = 'at_risk'))
    """  # noqa: S608 (values are parameters) # nosec B608


def _detractor(q: _Statement, today: date, days: int | None) -> str:
    days = days or DEFAULT_DAYS[PlaybookTrigger.DETRACTOR]
    zone = ZoneInfo(current_organization().time_zone)
    # A day of the last `days`, today included, in the organization's time zone.
    since = organization_midnight(today - timedelta(days=days - 1))
    until = organization_midnight(today + timedelta(days=1))
    reason = q.reason(
        q.param(REASON_DETRACTOR),
        kind="r.kind",
        score="r.score",
        day=_ISO_DAY.format(f"(r.responded_at AT TIME ZONE {q.param(zone.key)})"),
    )
    # The limits of surveys.models.is_negative (tests check they agree).
    return f"""
    SELECT DISTINCT ON (r.account_id) r.account_id, 'response:' || r.id AS trigger_key,
           {reason}
    FROM surveys_response r
    WHERE r.responded_at >= {q.param(since)} AND r.responded_at < {q.param(until)}
      AND ((r.kind = 'nps' AND r.score <= 6)
           OR (r.kind = 'csat' AND r.score <= 2)
           OR (r.kind = 'ces' AND r.score <= 3))
    ORDER BY r.account_id, r.responded_at DESC, r.id DESC
    """  # noqa: S608 (values are parameters) # nosec B608


def _renewal(q: _Statement, today: date, days: int | None) -> str:
    days = days or DEFAULT_DAYS[PlaybookTrigger.RENEWAL]
    # Each account's next renewal (csp_next_renewal, the one definition), over its
    # open-ended subscriptions: one with an end date has been cancelled or replaced,
    # so it does not renew (docs/playbooks.md).
    return f"""
    SELECT n.account_id, 'renewal:' || {_ISO_DAY.format("min(n.on_day)")} AS trigger_key,
           {q.reason(q.param(REASON_RENEWAL), day=_ISO_DAY.format("min(n.on_day)"))}
    FROM (
        SELECT s.account_id,
               csp_next_renewal(s.started_on, s.ended_on, s.interval_months, s.mrr_cents,
                                {q.param(today)}::date) AS on_day
        FROM accounts_subscription s
        WHERE s.ended_on IS NULL
    ) n
    GROUP BY n.account_id
    HAVING min(n.on_day) <= {q.param(today + timedelta(days=days))}
    """  # noqa: S608 (values are parameters) # nosec B608


def _inactive(q: _Statement, today: date, days: int | None) -> str:
    days = days or DEFAULT_DAYS[PlaybookTrigger.INACTIVE]
    t = q.param(today)
    cutoff = q.param(today - timedelta(days=days))
    last_day = _ISO_DAY.format("u.day")
    never, since = q.param(REASON_NEVER_ACTIVE), q.param(REASON_INACTIVE)
    reason = q.reason(
        f"CASE WHEN u.day IS NULL THEN {never} ELSE {since} END",
        day=f"coalesce({last_day}, {_ISO_DAY.format('c.first_start')})",
    )
    # Customers for `days` days at least (a newer customer has not been idle that long),
    # whose last active day up to today is `days` days ago or earlier, or who have none.
    return f"""
    SELECT c.account_id, 'inactive:' || coalesce({last_day}, 'never') AS trigger_key,
           {reason}
    FROM ({_CUSTOMERS.format(today=t)}) c
    LEFT JOIN LATERAL (
        SELECT d.day FROM journeys_dailyusage d
        WHERE d.account_id = c.account_id AND d.day <= {t}
        ORDER BY d.day DESC LIMIT 1
    ) u ON true
    WHERE c.first_start <= {cutoff} AND (u.day IS NULL OR u.day <= {cutoff})
    """  # noqa: S608 (values are parameters) # nosec B608


def _ttv_overdue(q: _Statement, today: date, days: int | None) -> str:
    days = days or DEFAULT_DAYS[PlaybookTrigger.TTV_OVERDUE]
    t = q.param(today)
    reason = q.reason(q.param(REASON_TTV_OVERDUE), days=f"({t}::date - c.first_start)")
    return f"""
    SELECT c.account_id, 'ttv' AS trigger_key, {reason}
    FROM ({_CUSTOMERS.format(today=t)}) c
    WHERE c.first_start < {q.param(today - timedelta(days=days))}
      AND EXISTS (SELECT 1 FROM journeys_valuemilestone)
      AND NOT EXISTS (
          SELECT 1 FROM journeys_dailyfeatureusage f
          JOIN journeys_valuemilestone m ON m.event_name = f.feature
          WHERE f.account_id = c.account_id
      )
    """  # noqa: S608 (values are parameters) # nosec B608


def _triad(q: _Statement, today: date, days: int | None) -> str:
    flags = ", ".join(q.param(flag) for flag in TRIAD_FLAGS)
    return f"""
    SELECT DISTINCT ON (h.account_id) h.account_id,
           'triad:' || f.flag || ':' || to_char(h.day, 'YYYY-MM') AS trigger_key,
           {q.reason(q.choice("f.flag", REASON_TRIAD))}
    FROM metrics_accounthealth h
    CROSS JOIN LATERAL unnest(h.flags) AS f(flag)
    WHERE h.day = {q.param(today)} AND f.flag IN ({flags})
    ORDER BY h.account_id, f.flag DESC
    """  # noqa: S608 (values are parameters) # nosec B608


_RULES = {
    PlaybookTrigger.BAND_DROP: _band_drop,
    PlaybookTrigger.DETRACTOR: _detractor,
    PlaybookTrigger.RENEWAL: _renewal,
    PlaybookTrigger.INACTIVE: _inactive,
    PlaybookTrigger.TTV_OVERDUE: _ttv_overdue,
    PlaybookTrigger.TRIAD: _triad,
}


@dataclass(frozen=True)
class NewTodo:
    id: int
    needs_email: bool  # its playbook emails the assignee, and it has one


def _open_todos(playbook: Playbook, today: date, now: datetime) -> list[NewTodo]:
    q = _Statement()
    matches = _RULES[PlaybookTrigger(playbook.trigger)](q, today, playbook.days)
    sql = f"""
    INSERT INTO journeys_todo (organization_id, title_key, custom_title, account_id,
                               assignee_id, due_on, playbook_id, trigger_key, reason_key,
                               reason_params, custom_reason, status, created_at)
    SELECT {q.param(playbook.organization_id)}, {q.param(playbook.task_title_key)},
           {q.param(playbook.custom_task_title)}, a.id, member.user_id,
           {q.param(today + timedelta(days=playbook.due_in_days))}, {q.param(playbook.pk)},
           m.trigger_key, m.reason_key, m.reason_params, '', {q.param(TodoStatus.OPEN.value)},
           {q.param(now)}
    FROM ({matches}) m
    JOIN accounts_account a ON a.id = m.account_id
    -- The owner is the assignee while still a member: one who left gets nothing.
    -- (Memberships are the tenancy's own table, outside row-level security: the
    -- organization is named here, the one place it must be.)
    LEFT JOIN accounts_membership member
        ON member.user_id = a.owner_id AND member.organization_id = a.organization_id
    ORDER BY a.id
    ON CONFLICT DO NOTHING
    RETURNING id, assignee_id IS NOT NULL
    """  # noqa: S608 (every value is a parameter; the rest is constant SQL) # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, q.params)
        return [
            NewTodo(id=row[0], needs_email=playbook.email_assignee and row[1])
            for row in cursor.fetchall()
        ]


def _run(today: date | None) -> list[NewTodo]:
    today = today or organization_today()
    now = timezone.now()
    created: list[NewTodo] = []
    # Titles and reasons are stored as keys: each reader sees them in their language.
    for playbook in Playbook.objects.filter(is_active=True).order_by("pk"):
        created.extend(_open_todos(playbook, today, now))
    return created


def playbooks_run(*, today: date | None = None) -> list[int]:
    """Open the tasks the current organization's active playbooks call for on `today`
    (default: today in its time zone); return the new tasks' ids.

    One statement per active playbook, whatever the number of accounts. Safe to run
    again: an account with an open task of the playbook, or whose occurrence already
    had one, gets none.
    """
    return [todo.id for todo in _run(today)]


def playbooks_run_and_notify(*, today: date | None = None) -> list[int]:
    """`playbooks_run`, then (once the transaction commits) email the new tasks whose
    playbook emails the assignee (journeys.tasks.email_new_todos). Returns the new
    tasks' ids."""
    from journeys.tasks import email_new_todos

    created = _run(today)
    to_email = [todo.id for todo in created if todo.needs_email]
    if to_email:
        enqueue_on_commit(email_new_todos, current_organization().pk, to_email)
    return [todo.id for todo in created]


# The default playbooks, one per rule: (rule, name, task title, due in days, email the
# assignee, active). Name and task title are stored as keys (csplatform.texts), so each
# reader sees them in their language until an admin renames them.
_DEFAULTS = [
    (
        PlaybookTrigger.BAND_DROP,
        gettext_noop("Health band drop"),
        gettext_noop("Find out why health dropped"),
        2, True, True,
    ),
    (
        PlaybookTrigger.DETRACTOR,
        gettext_noop("Detractor follow-up"),
        gettext_noop("Call back the unhappy customer"),
        2, True, True,
    ),
    (
        PlaybookTrigger.RENEWAL,
        gettext_noop("Renewal preparation"),
        gettext_noop("Prepare the renewal"),
        14, False, True,
    ),
    (
        PlaybookTrigger.INACTIVE,
        gettext_noop("Inactive customer"),
        gettext_noop("Re-engage the customer"),
        5, False, False,
    ),
    (
        PlaybookTrigger.TTV_OVERDUE,
        gettext_noop("Time to value overdue"),
        gettext_noop("Help the customer reach first value"),
        5, False, False,
    ),
    (
        PlaybookTrigger.TRIAD,
        gettext_noop("Triad check"),
        gettext_noop("Review goals and outcomes with the customer"),
        7, False, False,
    ),
]  # fmt: skip
DEFAULT_PLAYBOOKS: list[dict[str, Any]] = [
    {
        "trigger": trigger,
        "name_key": message_define(f"playbook.{trigger}.name", name),
        "task_title_key": message_define(f"playbook.{trigger}.task_title", task_title),
        "days": DEFAULT_DAYS.get(trigger),
        "due_in_days": due_in_days,
        "email_assignee": email_assignee,
        "is_active": is_active,
    }
    for trigger, name, task_title, due_in_days, email_assignee, is_active in _DEFAULTS
]


def playbooks_default() -> list[Playbook]:
    """Create the default playbooks of the current organization, one per rule, named
    by key (each reader sees the name in their language); keep any it has already (by
    name or by rule). Returns those created.

    Active by default: band drops, detractors and renewals (rare, and each worth a
    call). Inactive, until an admin has checked the data behind them: no activity (an
    organization that sends no usage events would get a task per customer), time to
    value (needs value milestones) and the triad flags.
    """
    defaults = [Playbook(**fields) for fields in DEFAULT_PLAYBOOKS]
    existing = list(Playbook.objects.all())
    names = {p.name_key or p.custom_name for p in existing} | {p.name for p in existing}
    triggers = {p.trigger for p in existing}
    missing = [
        p
        for p in defaults
        if p.name_key not in names and p.name not in names and p.trigger not in triggers
    ]
    return Playbook.objects.bulk_create(missing, ignore_conflicts=True) if missing else []
