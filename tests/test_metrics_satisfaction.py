"""NPS, CSAT and CES with n and margins of error, stored per month and dimension,
kept fresh by Celery, and printed by `manage.py metrics --json`."""

import json
import math
import time
from datetime import UTC, date, datetime
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from accounts.customers import accounts_upsert, subscriptions_upsert
from accounts.models import Account
from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from journeys.models import StageTransition
from journeys.services import account_stage_change
from metrics import satisfaction
from metrics.models import SatisfactionMetrics
from metrics.services import metrics_recompute
from surveys.services import response_record
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LifecycleStageFactory,
    OrganizationFactory,
    ResponseFactory,
    SurveyFactory,
    SurveyInvitationFactory,
    subscription_row,
)


def _scores(counts):
    """{score: how many} as an array."""
    return np.repeat(list(counts), list(counts.values()))


def test_it_computes_csat_as_the_share_of_fours_and_fives():
    # Delighted's example (METRICS.md): 42, 32, 10, 9, 14 responses for 5…1.
    measured = satisfaction.csat(_scores({5: 42, 4: 32, 3: 10, 2: 9, 1: 14}))
    assert measured["n"] == 107
    assert measured["value"] == pytest.approx(69.16, abs=0.005)
    p = 74 / 107
    assert measured["margin"] == pytest.approx(1.96 * math.sqrt(p * (1 - p) / 107) * 100)
    assert measured["mean"] == pytest.approx((5 * 42 + 4 * 32 + 3 * 10 + 2 * 9 + 14) / 107)


def test_it_computes_nps_with_its_margin_of_error():
    measured = satisfaction.nps(_scores({10: 30, 9: 20, 8: 20, 7: 10, 6: 10, 0: 10}))
    assert (measured["n"], measured["value"]) == (100, pytest.approx(30.0))
    assert (measured["high"], measured["low"]) == (pytest.approx(50.0), pytest.approx(20.0))
    # 1.96 · √((p_prom + p_det − (p_prom − p_det)²) ÷ n) × 100
    assert measured["margin"] == pytest.approx(1.96 * math.sqrt((0.5 + 0.2 - 0.09) / 100) * 100)


def test_it_computes_ces_as_the_mean_with_a_t_free_margin():
    scores = np.tile([7, 6, 5, 3], 8)  # 32 answers: enough for a margin
    measured = satisfaction.ces(scores)
    assert measured["value"] == pytest.approx(5.25)
    assert measured["margin"] == pytest.approx(1.96 * np.std(scores, ddof=1) / math.sqrt(32))
    assert measured["high"] == pytest.approx(75.0)
    assert satisfaction.ces(np.array([4]))["margin"] is None  # one response: no spread


@pytest.mark.parametrize("measure", [satisfaction.nps, satisfaction.csat, satisfaction.ces])
def test_it_gives_no_margin_below_the_minimum_number_of_answers(measure):
    # One minimum for the three (docs/metrics.md): below it the normal approximation
    # every margin here rests on is not to be trusted, and one answer gave "± 0.0".
    rng = np.random.default_rng(17)
    low, high = {satisfaction.nps: (0, 11), satisfaction.csat: (1, 6)}.get(measure, (1, 8))
    for n in (1, 2, 29):
        scores = rng.integers(low, high, size=n)
        measured = measure(scores)
        assert (measured["n"], measured["margin"]) == (n, None), n
        assert measured["value"] is not None  # the score itself is still given
    assert measure(rng.integers(low, high, size=30))["margin"] > 0
    assert satisfaction.nps_pooled([satisfaction.nps(np.array([10]))] * 2)["margin"] is None
    assert satisfaction.MARGIN_MIN_ANSWERS == 30


@pytest.mark.parametrize("measure", [satisfaction.nps, satisfaction.csat, satisfaction.ces])
def test_it_gives_no_score_without_responses(measure):
    assert measure(np.array([], dtype=int))["value"] is None


@pytest.mark.django_db
def test_it_stores_each_month_overall_and_by_touchpoint_segment_and_stage():
    org = OrganizationFactory(time_zone="America/Sao_Paulo")
    with tenant_context(org):
        enterprise = AccountFactory(segment="Enterprise", lifecycle_stage="adoption")
        smb = AccountFactory(segment="SMB", lifecycle_stage="")
        # In adoption since January (its stage history: the row its insert recorded).
        StageTransition.objects.filter(account=enterprise).update(
            changed_at=datetime(2026, 1, 5, tzinfo=UTC)
        )
        support = SurveyFactory(touchpoint="support")
        company = SurveyFactory(touchpoint="company")
        for account, survey, score, at in [
            (enterprise, support, 10, datetime(2026, 10, 10, 12, tzinfo=UTC)),
            (enterprise, company, 3, datetime(2026, 10, 20, 12, tzinfo=UTC)),
            # 01:00 UTC on 1 November is still October in São Paulo.
            (smb, support, 9, datetime(2026, 11, 1, 1, tzinfo=UTC)),
            (smb, company, 8, datetime(2026, 11, 15, 12, tzinfo=UTC)),
        ]:
            ResponseFactory(
                invitation__campaign__survey=survey,
                invitation__contact=ContactFactory(account=account),
                account=account,
                score=score,
                touchpoint=survey.touchpoint,
                responded_at=at,
            )
        assert satisfaction.satisfaction_recompute() > 0
        stored = {
            (r.month.isoformat()[:7], r.dimension, r.key): (r.n, r.value)
            for r in SatisfactionMetrics.objects.filter(kind="nps")
        }
    assert stored[("2026-10", "all", "")] == (3, pytest.approx((2 - 1) / 3 * 100))
    assert stored[("2026-11", "all", "")] == (1, 0.0)  # one passive
    assert stored[("2026-10", "touchpoint", "support")] == (2, 100.0)
    assert stored[("2026-10", "segment", "Enterprise")] == (2, 0.0)
    assert stored[("2026-10", "lifecycle_stage", "adoption")] == (2, 0.0)
    assert ("2026-10", "lifecycle_stage", "") not in stored  # no stage: under "all" only


@pytest.mark.django_db
def test_it_breaks_answers_down_by_the_stage_the_account_was_in_when_it_answered(time_machine):
    org = OrganizationFactory(time_zone="UTC")
    with tenant_context(org):
        for key in ("onboarding", "adoption"):
            LifecycleStageFactory(key=key)
        acme, globex = AccountFactory(segment="SMB"), AccountFactory(segment="SMB")

    def move(account, stage, at):
        time_machine.move_to(at, tick=False)  # the stage history is stamped with Django's clock
        with tenant_context(org):
            account_stage_change(account=account, stage_key=stage, by=None)

    def answer(account, score, at):
        with tenant_context(org):
            ResponseFactory(
                invitation__contact=ContactFactory(account=account),
                account=account,
                score=score,
                responded_at=at,
            )

    answer(acme, 8, datetime(2026, 8, 20, 12, tzinfo=UTC))  # no stage yet: under "all" only
    move(acme, "onboarding", datetime(2026, 9, 1, 12, tzinfo=UTC))
    move(globex, "adoption", datetime(2026, 9, 2, 12, tzinfo=UTC))
    answer(acme, 10, datetime(2026, 9, 20, 12, tzinfo=UTC))
    answer(globex, 0, datetime(2026, 9, 21, 12, tzinfo=UTC))
    move(acme, "adoption", datetime(2026, 10, 10, 12, tzinfo=UTC))
    answer(acme, 0, datetime(2026, 10, 20, 12, tzinfo=UTC))
    move(globex, "onboarding", datetime(2026, 10, 25, 12, tzinfo=UTC))
    with tenant_context(org):
        # Segments have no history: the current one (docs/metrics.md, Satisfaction).
        Account.objects.filter(pk=acme.pk).update(segment="Enterprise")
        satisfaction.satisfaction_recompute()
        by_stage = {
            (r.month.isoformat()[:7], r.key): (r.n, r.value)
            for r in SatisfactionMetrics.objects.filter(dimension="lifecycle_stage")
        }
        by_segment = {
            (r.month.isoformat()[:7], r.key): r.n
            for r in SatisfactionMetrics.objects.filter(dimension="segment")
        }
    # A later move (acme to adoption, globex back to onboarding) rewrites no past month.
    assert by_stage == {
        ("2026-09", "onboarding"): (1, 100.0),
        ("2026-09", "adoption"): (1, -100.0),
        ("2026-10", "adoption"): (1, -100.0),
    }
    assert by_segment == {
        ("2026-08", "Enterprise"): 1,
        ("2026-09", "Enterprise"): 1,
        ("2026-09", "SMB"): 1,
        ("2026-10", "Enterprise"): 1,
    }


def test_it_reads_each_answers_stage_from_its_accounts_history():
    def at(day, hour=12):
        return pd.Timestamp(datetime(2026, 9, day, hour, tzinfo=UTC))

    responses = pd.DataFrame(
        [
            (1, at(1), "retention"),  # before acme's first move: its "from" stage
            (1, at(10), "retention"),  # two moves at one instant: the later one
            (1, at(20), "retention"),  # exactly at a move: the new stage
            (2, at(5), "adoption"),  # globex has no history: its current stage
            (3, at(5), ""),  # neither history nor stage
        ],
        columns=["account_id", "responded_at", "current_stage"],
        index=[10, 11, 12, 13, 14],
    )
    transitions = pd.DataFrame(
        [
            (1, at(20), 4, "onboarding", "retention"),
            (1, at(3), 2, "trial", "onboarding"),
            (1, at(3), 3, "onboarding", "adoption"),
            (1, at(3), 1, "", "trial"),  # lower id: recorded first
        ],
        columns=["account_id", "changed_at", "id", "from_stage", "to_stage"],
    )
    transitions.loc[3, "changed_at"] = at(2)  # the account's creation, a day earlier
    stages = satisfaction.stage_at_response(responses, transitions)
    assert stages.to_dict() == {
        10: "",
        11: "adoption",
        12: "retention",
        13: "adoption",
        14: "",
    }


@pytest.mark.django_db
def test_it_counts_an_edited_response_once_with_its_latest_score():
    org = OrganizationFactory()
    with tenant_context(org):
        invitation = SurveyInvitationFactory()
        response_record(invitation=invitation, score=2, automatic=False)
        response_record(invitation=invitation, score=10, automatic=False)
        satisfaction.satisfaction_recompute()
        [overall] = SatisfactionMetrics.objects.filter(dimension="all")
    assert (overall.n, overall.value) == (1, 100.0)


@pytest.mark.django_db
def test_it_prints_nps_csat_and_ces_per_month_with_n_and_margins():
    org = OrganizationFactory(slug="acme")
    with tenant_context(org):
        accounts_upsert([{"external_id": "a1", "name": "Acme"}])
        subscriptions_upsert([subscription_row("s1", "a1", 10_000, date(2026, 9, 10))])
        invitation = SurveyInvitationFactory(campaign__survey=SurveyFactory(kind="csat"))
        response_record(invitation=invitation, score=5, automatic=False)
        today = organization_today(org)
        metrics_recompute(full=True, today=today)
        satisfaction.satisfaction_recompute()
    out = StringIO()
    call_command("metrics", "--org", "acme", "--json", stdout=out)
    months = {m["month"]: m for m in json.loads(out.getvalue())["months"]}
    this_month = today.strftime("%Y-%m")  # the response was written today, org's time
    assert (months[this_month]["csat"], months[this_month]["csat_n"]) == (100.0, 1)
    assert months[this_month]["csat_margin"] is None  # one answer: too few for a margin
    assert (months[this_month]["nps"], months[this_month]["nps_n"]) == (None, 0)
    assert (months["2026-09"]["ces"], months["2026-09"]["ces_margin"]) == (None, None)


@pytest.mark.django_db
def test_it_prints_the_satisfaction_months_of_an_organization_without_subscriptions():
    org = OrganizationFactory(slug="acme")
    with tenant_context(org):
        invitation = SurveyInvitationFactory(campaign__survey=SurveyFactory(kind="nps"))
        response_record(invitation=invitation, score=10, automatic=False)
        satisfaction.satisfaction_recompute()  # as the worker does after an answer
        this_month = organization_today(org).strftime("%Y-%m")
    out = StringIO()
    call_command("metrics", "--org", "acme", "--json", stdout=out, stderr=StringIO())
    [month] = json.loads(out.getvalue())["months"]
    assert month["month"] == this_month
    assert (month["nps"], month["nps_n"], month["nps_margin"]) == (100.0, 1, None)
    assert (month["mrr"], month["customers"], month["logo_churn_rate"]) == (None, None, None)
    table = StringIO()
    call_command("metrics", "--org", "acme", stdout=table)
    assert this_month in table.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_refreshes_satisfaction_on_a_real_worker_after_a_response(
    celery_worker_process, settings
):
    settings.METRICS_RECOMPUTE_DELAY_SECONDS = 0
    org = OrganizationFactory()
    with tenant_context(org):
        invitation = SurveyInvitationFactory()
    with tenant_context(org):
        response_record(invitation=invitation, score=9, automatic=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with tenant_context(org):
            if SatisfactionMetrics.objects.filter(kind="nps", dimension="all").exists():
                break
        time.sleep(0.1)
    with tenant_context(org):
        [overall] = SatisfactionMetrics.objects.filter(kind="nps", dimension="all")
    assert (overall.n, overall.value) == (1, 100.0)


# Moved from tests/test_executive.py with the pooling itself (one definition, here).
def test_it_pools_nps_over_months():
    months = [
        {"n": 10, "value": 30.0, "margin": 1.0, "high": 50.0, "low": 20.0},
        {"n": 0, "value": 0.0, "margin": None, "high": None, "low": None},
        {"n": 30, "value": 10.0, "margin": 2.0, "high": 40.0, "low": 30.0},
    ]
    pooled = satisfaction.nps_pooled(months)
    assert (pooled["n"], pooled["value"]) == (40, pytest.approx(15.0))
    assert satisfaction.nps_pooled(months[1:2])["value"] is None
    assert satisfaction.nps_pooled(months[:1]) == satisfaction.nps_pooled([months[0]])
    assert satisfaction.nps_pooled(months[:1])["margin"] == 1.0  # one month: the stored margin


def test_it_pools_months_into_the_nps_of_all_their_responses_at_once():
    # METRICS.md: NPS and its margin "over the responses in the period".
    rng = np.random.default_rng(16)
    months = [rng.integers(0, 11, size=size) for size in (1, 17, 240, 3)]
    pooled = satisfaction.nps_pooled(satisfaction.nps(scores) for scores in months)
    at_once = satisfaction.nps(np.concatenate(months))
    assert pooled.keys() == at_once.keys()
    for key, value in at_once.items():
        assert pooled[key] == pytest.approx(value, rel=1e-12), key
