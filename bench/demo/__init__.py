"""A realistic, deterministic demo workload, generated whole-frame with NumPy.

One organization's customers over `months` months: signups with seasonality,
a plan mix by segment, upgrades and downgrades (a new subscription row each
time), churn and reactivation, contacts, product usage that decays before an
account churns, and touchpoints along the lifecycle (onboarding, QBRs,
support tickets that turn negative before churn, renewal calls).

Everything is drawn from `numpy.random.default_rng([seed, organization_index])`,
so a seed gives the same data every time. Rows are written with COPY; events
go through the same staging path and roll-up as ingestion, so the daily
rollups are built exactly as in production.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from django.db import connection
from django.utils import timezone

from accounts.signals import revenue_changed
from csplatform.db import copy_in
from journeys.ingest import events_ingest_staged_csv
from journeys.rollups import usage_roll_up

SEGMENTS = np.array(["SMB", "Mid-Market", "Enterprise"])
SEGMENT_WEIGHTS = [0.6, 0.3, 0.1]
# Monthly price in cents by segment (low, high), and monthly churn hazard.
PRICE_RANGE = {0: (9_900, 49_900), 1: (50_000, 250_000), 2: (300_000, 1_500_000)}
CHURN_HAZARD = np.array([0.035, 0.018, 0.009])
PLANS = np.array(["Starter", "Pro", "Enterprise"])
INTERVALS = np.array(["month", "quarter", "year"])
INTERVAL_MONTHS = np.array([1, 3, 12])
# Signups by calendar month (Jan..Dec): a slow January, busy autumn in both hemispheres.
SEASONALITY = np.array([0.6, 0.9, 1.2, 1.1, 1.0, 0.9, 0.8, 1.0, 1.2, 1.3, 1.1, 0.7])
FEATURES = np.array(
    [
        "login",
        "report.generated",
        "dashboard.viewed",
        "export.csv",
        "integration.synced",
        "alert.configured",
        "user.invited",
        "api.called",
    ]
)
FEATURE_WEIGHTS = np.array([0.3, 0.18, 0.18, 0.1, 0.09, 0.06, 0.04, 0.05])
FIRST_NAMES = np.array(
    [
        "Ana",
        "Bruno",
        "Carla",
        "Diego",
        "Elisa",
        "Felipe",
        "Gabriela",
        "Henrique",
        "Isabela",
        "João",
        "Karen",
        "Lucas",
        "Mariana",
        "Nicolas",
        "Olivia",
        "Paulo",
        "Rafaela",
        "Sofia",
    ]
)
LAST_NAMES = np.array(
    [
        "Silva",
        "Santos",
        "Oliveira",
        "Souza",
        "Lima",
        "Pereira",
        "Costa",
        "Almeida",
        "Ferreira",
        "Rodrigues",
        "Martins",
        "Gomes",
        "Smith",
        "Johnson",
        "Brown",
        "Carvalho",
    ]
)
COMPANY_WORDS = np.array(
    [
        "Padaria",
        "Logística",
        "Tech",
        "Comercial",
        "Saúde",
        "Educação",
        "Agro",
        "Varejo",
        "Construtora",
        "Digital",
        "Serviços",
        "Indústria",
        "Farma",
        "Studio",
        "Labs",
        "Foods",
    ]
)
COMPANY_NAMES = np.array(
    [
        "Aurora",
        "Horizonte",
        "Ipê",
        "Jacarandá",
        "Boa Vista",
        "Atlântico",
        "Cerrado",
        "Pampa",
        "Pioneer",
        "Summit",
        "Northwind",
        "Bluebird",
        "Cedar",
        "Harbor",
        "Vila Nova",
        "Serra",
    ]
)


@dataclass(frozen=True)
class Scale:
    organizations: int
    accounts: int  # per organization
    events: int  # per organization
    months: int


SCALES = {
    "small": Scale(organizations=1, accounts=80, events=20_000, months=13),
    "medium": Scale(organizations=20, accounts=1_000, events=100_000, months=13),
    "large": Scale(organizations=200, accounts=1_000, events=100_000, months=13),
}


@dataclass
class Generated:
    accounts: int
    contacts: int
    subscriptions: int
    events: int
    touchpoints: int
    # Per account: account_id, signup and churn_at (datetime64[D]; churn_at may be ahead),
    # gone (churned and not back): what other apps' demo data follows.
    customers: pd.DataFrame | None = None


def copy_rows(table: str, frame: pd.DataFrame, *, blank: Sequence[str] = ()) -> None:
    """COPY the frame into `table`. Postgres refuses COPY into a table under row-level
    security, so the rows go to a temporary table first, then across with one INSERT
    (which the policy checks). Empty cells are NULL, except in the `blank` columns."""
    columns = ", ".join(frame.columns)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE demo_rows AS SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608 # nosec B608 # constant identifiers
        )
        csv = buffer.getvalue()
        copy_in(cursor, "demo_rows", list(frame.columns), csv, csv=True, force_not_null=blank)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM demo_rows")  # noqa: S608 # nosec B608 # constant identifiers
        cursor.execute("DROP TABLE demo_rows")


def _ascii(text: str) -> str:
    """The text without accents (João → Joao)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _month_add(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Dates (numpy datetime64[D]) plus whole months, keeping the day of month (capped at 28)."""
    as_months = days.astype("datetime64[M]") + months.astype("timedelta64[M]")
    day_of_month = np.minimum((days - days.astype("datetime64[M]")).astype(int), 27)
    return as_months.astype("datetime64[D]") + day_of_month.astype("timedelta64[D]")


def generate(
    *,
    organization_id: int,
    index: int,
    seed: int,
    scale: Scale,
    owner_ids: Sequence[int | None],
    today: date,
) -> Generated:
    """Write one organization's demo customers; call inside its tenant_context."""
    rng = np.random.default_rng([seed, index])
    n = scale.accounts
    today64 = np.datetime64(today, "D")
    start_month = (today64.astype("datetime64[M]") - np.timedelta64(scale.months, "M")).astype(
        "datetime64[D]"
    )

    # --- accounts: signups spread over the period, with seasonality ----------------
    month_offsets = np.arange(scale.months)
    calendar_month = (start_month.astype("datetime64[M]").astype(int) + month_offsets) % 12
    weights = SEASONALITY[calendar_month] * np.linspace(0.8, 1.2, scale.months)  # growth
    signup_month = rng.choice(month_offsets, size=n, p=weights / weights.sum())
    signup = (start_month.astype("datetime64[M]") + signup_month).astype("datetime64[D]")
    signup = signup + rng.integers(0, 28, size=n).astype("timedelta64[D]")
    segment = rng.choice(3, size=n, p=SEGMENT_WEIGHTS)
    external_ids = np.char.add(f"c{index:03d}-", np.arange(1, n + 1).astype(str))
    names = np.char.add(
        np.char.add(rng.choice(COMPANY_WORDS, n), " "), rng.choice(COMPANY_NAMES, n)
    )
    names = np.char.add(names, np.char.add(" ", np.arange(1, n + 1).astype(str)))

    # --- subscriptions: first plan, maybe a change, maybe churn, maybe a return --------
    low = np.array([PRICE_RANGE[s][0] for s in segment])
    high = np.array([PRICE_RANGE[s][1] for s in segment])
    monthly = (rng.uniform(low, high) // 100 * 100).astype(np.int64)
    interval = rng.choice(3, size=n, p=[0.7, 0.05, 0.25])
    lifetime = rng.geometric(CHURN_HAZARD[segment])  # months until churn
    churn_at = _month_add(signup, lifetime)
    churned = churn_at <= today64
    change_after = rng.geometric(0.06, size=n)
    changes = (change_after < lifetime) & (_month_add(signup, change_after) <= today64)
    change_at = _month_add(signup, change_after)
    upgrade = rng.random(n) < 0.7
    changed_monthly = np.where(upgrade, monthly * rng.uniform(1.3, 2.0, n), monthly * 0.6)
    changed_monthly = (changed_monthly // 100 * 100).astype(np.int64)
    returns = churned & (rng.random(n) < 0.12)
    return_at = _month_add(churn_at, rng.integers(2, 6, size=n))
    returns &= return_at <= today64

    first_end = np.where(changes, change_at, np.where(churned, churn_at, np.datetime64("NaT", "D")))
    periods = [
        pd.DataFrame(
            {
                "account": np.arange(n),
                "seq": 1,
                "monthly": monthly,
                "interval": interval,
                "started_on": signup,
                "ended_on": first_end,
            }
        ),
        pd.DataFrame(
            {
                "account": np.arange(n)[changes],
                "seq": 2,
                "monthly": changed_monthly[changes],
                "interval": interval[changes],
                "started_on": change_at[changes],
                "ended_on": np.where(churned, churn_at, np.datetime64("NaT", "D"))[changes],
            }
        ),
        pd.DataFrame(
            {
                "account": np.arange(n)[returns],
                "seq": 3,
                "monthly": monthly[returns],
                "interval": np.zeros(returns.sum(), dtype=int),
                "started_on": return_at[returns],
                "ended_on": np.datetime64("NaT", "D"),
            }
        ),
    ]
    subscriptions = pd.concat(periods, ignore_index=True)
    active_now = ~churned | returns
    stage = np.where(
        ~active_now,
        "retention",
        np.where(
            today64 - signup < np.timedelta64(60, "D"),
            "onboarding",
            np.where(
                today64 - signup < np.timedelta64(180, "D"),
                "adoption",
                np.where(changes & upgrade, "expansion", "retention"),
            ),
        ),
    )

    # About one customer in ten is about to churn (within six weeks, after the data's
    # end): its usage fades, its tickets turn negative and its answers drop already.
    # Their subscriptions are as above; only the signs follow this date.
    trouble = active_now & (rng.random(n) < 0.1)
    churn_at = np.where(
        trouble, today64 + rng.integers(5, 45, n).astype("timedelta64[D]"), churn_at
    )

    now = timezone.now().isoformat()
    owners = np.array(list(owner_ids) or [None], dtype=object)
    copy_rows(
        "accounts_account",
        pd.DataFrame(
            {
                "organization_id": organization_id,
                "external_id": external_ids,
                "name": names,
                "segment": SEGMENTS[segment],
                "owner_id": rng.choice(owners, n),
                "signup_date": signup.astype(str),
                "lifecycle_stage": stage,
                "custom_attributes": [
                    json.dumps({"region": r, "employees": int(e)})
                    for r, e in zip(
                        rng.choice(["Sudeste", "Sul", "Nordeste", "Norte", "Centro-Oeste"], n),
                        rng.lognormal(3.5, 1.2, n).round(),
                        strict=True,
                    )
                ],
                "created_at": now,
                "updated_at": now,
            }
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, id FROM accounts_account WHERE organization_id = %s",
            [organization_id],
        )
        ids_by_external = dict(cursor.fetchall())
    account_ids = np.array([ids_by_external[e] for e in external_ids])
    _stage_history(organization_id, account_ids, signup, stage, change_at, churn_at, today64)

    interval_months = INTERVAL_MONTHS[subscriptions["interval"].to_numpy()]
    copy_rows(
        "accounts_subscription",
        pd.DataFrame(
            {
                "organization_id": organization_id,
                "external_id": [
                    f"{external_ids[a]}-s{s}"
                    for a, s in zip(subscriptions["account"], subscriptions["seq"], strict=True)
                ],
                "account_id": account_ids[subscriptions["account"].to_numpy()],
                "plan": PLANS[segment[subscriptions["account"].to_numpy()]],
                "amount_cents": subscriptions["monthly"].to_numpy() * interval_months,
                "currency": "BRL",
                "billing_interval": INTERVALS[subscriptions["interval"].to_numpy()],
                "started_on": subscriptions["started_on"].dt.date.astype(str),
                "ended_on": subscriptions["ended_on"].dt.date.astype(str).replace("NaT", ""),
                "created_at": now,
            }
        ),
    )
    if len(subscriptions):  # the metrics go stale, as after any write of subscriptions
        revenue_changed.send(
            sender=None, since=subscriptions["started_on"].min().date(), accounts=None
        )

    # --- contacts -------------------------------------------------------------------------
    per_account = 1 + rng.poisson(np.array([0.8, 2.0, 4.0])[segment])
    contact_account = np.repeat(np.arange(n), per_account)
    m = contact_account.size
    first_index = rng.choice(len(FIRST_NAMES), m)
    first, last = FIRST_NAMES[first_index], rng.choice(LAST_NAMES, m)
    domains = np.char.add(np.char.lower(external_ids), ".example.com")[contact_account]
    # Addresses in ASCII, as mail servers expect (João writes joao.…@).
    first_ascii = np.array([_ascii(name) for name in FIRST_NAMES])[first_index]
    local_part = np.char.add(np.char.add(np.char.lower(first_ascii), "."), np.char.lower(last))
    local_part = np.char.add(local_part, np.arange(m).astype(str))
    emails = np.char.add(np.char.add(local_part, "@"), domains)
    copy_rows(
        "accounts_contact",
        pd.DataFrame(
            {
                "organization_id": organization_id,
                "account_id": account_ids[contact_account],
                "email": emails,
                "name": np.char.add(np.char.add(first, " "), last),
                "locale": rng.choice(["pt-br", "en"], m, p=[0.7, 0.3]),
                "role": rng.choice(["CEO", "CFO", "Ops", "Analyst", "IT", "Sales"], m),
                # On file since the account signed up: the back-test counts a past day's
                # contacts created or seen by then (metrics.health.inputs, hindsight).
                "created_at": pd.to_datetime(signup[contact_account]).tz_localize("UTC"),
                "updated_at": now,
            }
        ),
    )
    contact_offsets = np.concatenate([[0], np.cumsum(per_account)[:-1]])

    # --- events: activity while a customer, fading in the 60 days before churn --------------
    last_day = np.where(churned & ~returns, churn_at, today64)
    active_days = np.maximum((last_day - signup).astype(int), 1)
    engagement = rng.lognormal(0, 0.8, n) * np.array([1.0, 1.8, 3.0])[segment]
    weight = active_days * engagement
    draws = int(scale.events * 1.25)  # some are thinned away below
    event_account = rng.choice(n, size=draws, p=weight / weight.sum())
    offset_days = (rng.random(draws) * active_days[event_account]).astype(int)
    day = signup[event_account] + offset_days.astype("timedelta64[D]")
    days_to_churn = (churn_at[event_account] - day).astype(int)
    # Fading before churn: the churned accounts, and those about to churn (their churn
    # date is ahead: the demo's at-risk accounts show the signs already).
    fading = (days_to_churn < 60) & ~(returns[event_account] & (day > churn_at[event_account]))
    keep = ~fading | (rng.random(draws) < np.clip((days_to_churn - 10) / 50, 0.03, 1))
    keep &= day < today64
    event_account, day = event_account[keep][: scale.events], day[keep][: scale.events]
    k = event_account.size
    seconds = (rng.normal(14, 3, k).clip(6, 23) * 3600).astype(int)
    occurred = (
        day.astype("datetime64[s]") + seconds.astype("timedelta64[s]") + np.timedelta64(3, "h")
    )
    breadth = rng.integers(2, FEATURES.size + 1, n)  # how many features each account uses
    feature = (rng.random(k) * breadth[event_account]).astype(int)
    contact_pick = contact_offsets[event_account] + (
        rng.random(k) * per_account[event_account]
    ).astype(int)
    with_contact = rng.random(k) < 0.7
    staging = pd.DataFrame(
        {
            "external_id": None,
            "account_external_id": external_ids[event_account],
            "contact_email": np.where(with_contact, emails[contact_pick], ""),
            "name": FEATURES[np.argsort(-FEATURE_WEIGHTS)][feature],
            "occurred_at": np.datetime_as_string(occurred, unit="s"),
            "quantity": np.where(rng.random(k) < 0.2, rng.integers(1, 50, k).astype(str), ""),
            "properties": None,
        }
    )
    staging["occurred_at"] = staging["occurred_at"] + "+00:00"
    # A few identical events (same instant, same everything) are counted once, as in life.
    created = events_ingest_staged_csv(staging.to_csv(index=False, header=False), k).created
    usage_roll_up()  # now, not seconds later: the demo opens on complete rollups

    touchpoints = _touchpoints(rng, n, signup, churn_at, churned, returns, segment, today64)
    from journeys.models import TouchpointType

    types = {
        t.name: t.pk
        for t in TouchpointType.objects.bulk_create(
            [
                TouchpointType(name=name, lifecycle_stage=stage_name, channel=channel)
                for name, stage_name, channel in TOUCHPOINT_TYPES
            ]
        )
    }
    copy_rows(
        "journeys_touchpoint",
        pd.DataFrame(
            {
                "organization_id": organization_id,
                "account_id": account_ids[touchpoints["account"]],
                "type_id": touchpoints["type"].map(types),
                "occurred_at": touchpoints["at"],
                "sentiment": touchpoints["sentiment"],
                "notes": "",
                "external_id": "",
                "dedupe_key": [str(u) for u in _uuids(rng, len(touchpoints))],
                "created_at": now,
            }
        ),
        blank=["notes", "external_id"],
    )
    customers = pd.DataFrame(
        {
            "account_id": account_ids,
            "signup": signup,
            "churn_at": churn_at,
            "gone": churned & ~returns,
        }
    )
    return Generated(n, m, len(subscriptions), created, len(touchpoints), customers)


TOUCHPOINT_TYPES = [
    ("Onboarding call", "onboarding", "call"),
    ("Kickoff meeting", "onboarding", "meeting"),
    ("Quarterly business review", "retention", "meeting"),
    ("Support ticket", "adoption", "support"),
    ("Renewal call", "retention", "call"),
    ("Expansion proposal", "expansion", "email"),
]


def _uuids(rng: np.random.Generator, count: int) -> list[str]:
    import uuid

    raw = rng.bytes(16 * count)
    return [str(uuid.UUID(bytes=raw[i * 16 : (i + 1) * 16], version=4)) for i in range(count)]


def _touchpoints(
    rng: np.random.Generator,
    n: int,
    signup: np.ndarray,
    churn_at: np.ndarray,
    churned: np.ndarray,
    returns: np.ndarray,
    segment: np.ndarray,
    today64: np.datetime64,
) -> pd.DataFrame:
    """Onboarding at the start, QBRs every quarter (mid-market and up), support tickets
    (more, and more negative, before churn), renewal calls a month before a year ends."""
    end = np.where(churned & ~returns, churn_at, today64)
    frames = [
        pd.DataFrame(
            {
                "account": np.arange(n),
                "type": "Onboarding call",
                "day": signup + np.timedelta64(7, "D"),
            }
        ),
        pd.DataFrame(
            {
                "account": np.arange(n),
                "type": "Kickoff meeting",
                "day": signup + np.timedelta64(2, "D"),
            }
        ),
    ]
    quarters = np.maximum(((end - signup).astype(int) // 90), 0) * (segment > 0)
    qbr_account = np.repeat(np.arange(n), quarters)
    qbr_index = (
        np.concatenate([np.arange(q) for q in quarters]) if quarters.sum() else np.array([], int)
    )
    frames.append(
        pd.DataFrame(
            {
                "account": qbr_account,
                "type": "Quarterly business review",
                "day": signup[qbr_account] + ((qbr_index + 1) * 90).astype("timedelta64[D]"),
            }
        )
    )
    tickets = rng.poisson(np.maximum((end - signup).astype(int), 0) / 45)
    ticket_account = np.repeat(np.arange(n), tickets)
    span = np.maximum((end - signup).astype(int)[ticket_account], 1)
    ticket_day = signup[ticket_account] + (rng.random(ticket_account.size) * span).astype(
        "timedelta64[D]"
    )
    frames.append(
        pd.DataFrame({"account": ticket_account, "type": "Support ticket", "day": ticket_day})
    )
    years = np.maximum((end - signup).astype(int) // 365, 0)
    renewal_account = np.repeat(np.arange(n), years)
    renewal_index = (
        np.concatenate([np.arange(y) for y in years]) if years.sum() else np.array([], int)
    )
    frames.append(
        pd.DataFrame(
            {
                "account": renewal_account,
                "type": "Renewal call",
                "day": signup[renewal_account]
                + ((renewal_index + 1) * 365 - 30).astype("timedelta64[D]"),
            }
        )
    )
    # A customer about to churn complains: one to three more tickets in its last 60 days.
    ahead = (churn_at - today64).astype(int)
    about_to_churn = ~churned & (ahead > 0) & (ahead <= 60)
    complaints = np.where(about_to_churn, rng.integers(1, 4, n), 0)
    complaint_account = np.repeat(np.arange(n), complaints)
    frames.append(
        pd.DataFrame(
            {
                "account": complaint_account,
                "type": "Support ticket",
                "day": today64
                - rng.integers(1, 60, complaint_account.size).astype("timedelta64[D]"),
            }
        )
    )
    touchpoints = pd.concat(frames, ignore_index=True)
    touchpoints = touchpoints[touchpoints["day"].to_numpy() < today64]
    account = touchpoints["account"].to_numpy()
    to_churn = (churn_at[account] - touchpoints["day"].to_numpy()).astype(int)
    near_churn = (to_churn >= 0) & (to_churn < 90)
    roll = rng.random(len(touchpoints))
    is_ticket = (touchpoints["type"] == "Support ticket").to_numpy()
    negative = is_ticket & (roll < np.where(near_churn, 0.7, 0.25))
    positive = ~is_ticket & (roll < np.where(near_churn, 0.2, 0.6))
    touchpoints["sentiment"] = np.where(
        negative, "negative", np.where(positive, "positive", "neutral")
    )
    hours = rng.integers(9, 18, len(touchpoints)).astype("timedelta64[h]")
    at = touchpoints["day"].to_numpy().astype("datetime64[s]") + hours + np.timedelta64(3, "h")
    touchpoints["at"] = np.char.add(np.datetime_as_string(at, unit="s"), "+00:00")
    return touchpoints.reset_index(drop=True)


def _stage_history(
    organization_id: int,
    account_ids: np.ndarray,
    signup: np.ndarray,
    stage: np.ndarray,
    change_at: np.ndarray,
    churn_at: np.ndarray,
    today64: np.datetime64,
) -> None:
    """Replace the transitions the accounts' insert recorded (all dated now) with a
    plausible history ending in each account's stage: onboarding at signup, adoption
    two months in, retention at six months (or when it left), expansion at its upgrade."""
    from journeys.models import StageTransition

    StageTransition.objects.filter(account_id__in=account_ids.tolist()).delete()
    day = np.timedelta64(1, "D")
    end = np.minimum(churn_at, today64) - day
    retention_on = np.minimum(signup + np.timedelta64(180, "D"), end)
    adoption_on = np.minimum(signup + np.timedelta64(60, "D"), retention_on - day)
    expansion_on = np.minimum(np.maximum(change_at, retention_on + day), today64 - day)
    n = len(account_ids)
    steps = [
        ("", "onboarding", signup, np.ones(n, dtype=bool)),
        ("onboarding", "adoption", adoption_on, (stage != "onboarding") & (adoption_on > signup)),
        ("adoption", "retention", retention_on, np.isin(stage, ["retention", "expansion"])),
        ("retention", "expansion", expansion_on, stage == "expansion"),
    ]
    frames = []
    for before, after, on, taken in steps:
        frames.append(
            pd.DataFrame(
                {
                    "organization_id": organization_id,
                    "account_id": account_ids[taken],
                    "from_stage": before,
                    "to_stage": after,
                    "changed_at": np.char.add(
                        np.datetime_as_string(on[taken], unit="D"), "T15:00:00+00:00"
                    ),
                }
            )
        )
    history = pd.concat(frames, ignore_index=True)
    # An account that skipped adoption (it left or grew first) came from onboarding.
    skipped = ~np.isin(history["account_id"], account_ids[steps[1][3]])
    history.loc[skipped & (history["from_stage"] == "adoption"), "from_stage"] = "onboarding"
    copy_rows("journeys_stagetransition", history, blank=["from_stage"])
