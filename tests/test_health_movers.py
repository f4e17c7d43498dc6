"""What moved an account's health score: a change is attributed to the components whose
values changed, and apart from them to a component first measured, a component no
longer measured, or a change of the weights; the parts add up to the score's change
(docs/metrics.md, Health, "What moved the score")."""

from datetime import timedelta

import pandas as pd
import pytest
from django.urls import reverse

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from metrics.health.model import COMPONENTS, Model
from metrics.health.scoring import health_scores
from metrics.health_selectors import account_health
from metrics.models import AccountHealth
from tests.factories import AccountFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

DEFAULT = {
    "engagement": 25,
    "adoption": 15,
    "satisfaction": 20,
    "revenue_trend": 15,
    "support_load": 10,
    "outcomes": 10,
    "renewal_proximity": 5,
}


def _snapshot(account, day, weights, **values):
    """A snapshot as health_recompute stores it: score and contributions computed by the
    scoring code from `values` under `weights`."""
    row = pd.DataFrame([{c: values.get(c) for c in COMPONENTS}], index=[account.pk], dtype=float)
    [scored] = health_scores(row, Model(weights=weights)).itertuples()
    points = {c: getattr(scored, f"{c}_points") for c in COMPONENTS}
    return AccountHealth.objects.create(
        account=account,
        day=day,
        score=scored.score,
        band=scored.band,
        **{c: values.get(c) for c in COMPONENTS},
        contributions={c: p for c, p in points.items() if not pd.isna(p)},
    )


@pytest.fixture
def account(team):
    with tenant_context(team.organization):
        account = AccountFactory(name="Padaria Aurora", owner=team.manager)
        SubscriptionFactory(account=account)
    return account


def _view(team, account, before, now, weights_before=DEFAULT, weights_now=DEFAULT):
    today = organization_today(team.organization)
    with tenant_context(team.organization):
        _snapshot(account, today - timedelta(days=7), weights_before, **before)
        _snapshot(account, today, weights_now, **now)
        return account_health(account_id=account.pk)


def _parts(view):
    return {(m.kind, m.component): m.moved for m in view.movers}


def test_it_never_names_a_component_whose_value_did_not_change(team, account):
    # Engagement 50 both weeks; satisfaction answered for the first time (90).
    view = _view(team, account, {"engagement": 50.0}, {"engagement": 50.0, "satisfaction": 90.0})
    assert view.score_moved == pytest.approx((25 * 50 + 20 * 90) / 45 - 50)
    assert [(m.kind, m.component) for m in view.movers] == [("measured", "satisfaction")]
    assert view.movers[0].moved == pytest.approx(view.score_moved, abs=1e-3)
    lines = {line.component: line for line in view.lines}
    assert lines["engagement"].moved == 0


def test_it_blames_a_low_first_answer_not_the_unchanged_engagement(team, account):
    # Engagement 50 both weeks, a first answer of 10: the score drops because of it.
    view = _view(team, account, {"engagement": 50.0}, {"engagement": 50.0, "satisfaction": 10.0})
    assert view.biggest_loss is not None
    assert view.biggest_loss.component == "satisfaction"
    assert view.biggest_loss.moved == pytest.approx(view.score_moved, abs=1e-3)


def test_it_shows_a_change_of_weights_on_its_own_line(team, account):
    values = {"engagement": 40.0, "satisfaction": 80.0}
    view = _view(
        team,
        account,
        values,
        values,
        weights_before={"engagement": 50, "satisfaction": 50},
        weights_now={"engagement": 25, "satisfaction": 75},
    )
    assert view.score_moved == pytest.approx(10.0)
    assert _parts(view) == {("weights", None): pytest.approx(10.0, abs=1e-3)}
    assert view.biggest_loss is None
    assert all(line.moved == 0 for line in view.lines)


def test_it_splits_a_mixed_change_into_parts_that_add_up(team, account):
    before = {"engagement": 40.0, "satisfaction": 80.0, "revenue_trend": 75.0}
    # Engagement rose, the answer aged out, adoption is new, the trend did not move.
    now = {"engagement": 60.0, "adoption": 100.0, "revenue_trend": 75.0}
    view = _view(team, account, before, now)
    parts = _parts(view)
    assert set(parts) == {
        ("value", "engagement"),
        ("unmeasured", "satisfaction"),
        ("measured", "adoption"),
    }
    assert sum(parts.values()) == pytest.approx(view.score_moved, abs=1e-3)
    lines = {line.component: line for line in view.lines}
    assert sum(line.moved for line in view.lines) + view.weights_moved == pytest.approx(
        view.score_moved, abs=1e-3
    )
    assert lines["revenue_trend"].moved == 0


def test_it_prints_no_mover_for_an_unchanged_value_on_the_page(team, signed_in, account):
    _view(team, account, {"engagement": 50.0}, {"engagement": 50.0, "satisfaction": 10.0})
    url = reverse(
        "dashboards:account_health",
        kwargs={"org_slug": team.organization.slug, "account_id": account.pk},
    )
    html = signed_in(team.manager).get(url).content.decode()
    assert "Engagement: from 50 to 50" not in html
    assert "Satisfaction: now 10 (no data before)" in html


def test_it_prints_a_change_of_weights_as_such_on_the_pages(team, signed_in, account):
    values = {"engagement": 40.0, "satisfaction": 80.0}
    weights = {"weights_before": {"engagement": 50, "satisfaction": 50}}
    _view(team, account, values, values, **weights, weights_now={"satisfaction": 1})
    kwargs = {"org_slug": team.organization.slug, "account_id": account.pk}
    client = signed_in(team.manager)
    health = client.get(reverse("dashboards:account_health", kwargs=kwargs)).content.decode()
    assert "The health model's weights changed" in health
    assert "Engagement: from 40 to 40" not in health
    page = client.get(reverse("dashboards:account", kwargs=kwargs)).content.decode()
    assert "Change of the weights" in page
    assert '<span class="moved-up">+20.0</span>' in page
