"""One language per screen: every page a manager, an owner and a board member can open,
read in Portuguese and in English on the demo organization (seeded and computed as
`make demo` does, so tables and charts have content), shows no English string of the
catalogue that has a translation (in English: no pt-BR sentence of the catalogue), no
internal key, no money written another way (tests/one_language.py is the checker; the
browser walk reuses it)."""

from dataclasses import dataclass
from datetime import date, timedelta

import plotly.graph_objects as go
import pytest
from django.core.management import call_command
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Account, Membership, Organization, Role, User
from csplatform.charts import chart, chart_of
from csplatform.tenancy import tenant_context
from journeys.services import lifecycle_stages_ensure
from tests.factories import SatisfactionMetricsFactory
from tests.one_language import (
    chart_figures,
    chart_texts,
    internal_keys,
    money_misformatted,
    page_text,
    typed_text,
    untranslated,
)
from tests.url_catalogue import CATALOGUE, ORG_ENTRIES

PERSONAS = {"manager": Role.MANAGER, "owner": Role.OWNER, "viewer": Role.VIEWER}
RANK = {"viewer": 0, "manager": 1, "admin": 2, "owner": 3}
GET_PAGES = sorted(e.name for e in ORG_ENTRIES if e.method == "get" and e.status == 200)


@dataclass
class DemoTeam:
    """The demo organization's people, shaped as conftest's Team for the catalogue."""

    organization: Organization
    owner: User
    admin: User
    manager: User
    viewer: User

    def user(self, persona: str) -> User:
        return getattr(self, persona)


@pytest.fixture(scope="module")
def demo_team(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", "--scale", "small", verbosity=0)
        call_command("recompute_metrics", "--org", "demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        organization = Organization.objects.get(slug="demo")
        people = {
            role: Membership.objects.filter(organization=organization, role=role)
            .select_related("user")
            .first()
            .user
            for role in (Role.OWNER, Role.MANAGER, Role.VIEWER)
        }
        try:
            yield DemoTeam(
                organization=organization,
                owner=people[Role.OWNER],
                admin=people[Role.OWNER],
                manager=people[Role.MANAGER],
                viewer=people[Role.VIEWER],
            )
        finally:
            # Committed outside any test's transaction: emptied as a transactional
            # test's database is, so no later test finds the demo (or the health
            # history its recompute queued in the outbox).
            call_command("flush", interactive=False, verbosity=0)


def _busiest_account(organization):
    with tenant_context(organization):
        return Account.objects.annotate(n=Count("subscriptions")).order_by("-n", "pk").first()


def _page(team, persona, name, language):
    entry = CATALOGUE[name]
    if "account_id" in entry.route.kwargs:  # the demo's richest account, not an empty one
        url = (
            entry.url(
                {"account": _busiest_account(team.organization)}, org_slug=team.organization.slug
            )
            if set(entry.route.kwargs) == {"account_id"}
            else entry.matrix_url(team)
        )
    else:
        url = entry.matrix_url(team)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    user = team.user(persona)
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    if not response["Content-Type"].startswith("text/html"):
        pytest.skip(f"{url} is a data file ({response['Content-Type']}), not a page")
    return url, response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["pt-br", "en"])
@pytest.mark.parametrize("persona", list(PERSONAS))
@pytest.mark.parametrize("name", GET_PAGES)
def test_it_reads_every_page_in_one_language(name, persona, language, demo_team):
    if RANK[persona] < RANK[CATALOGUE[name].minimum]:
        pytest.skip(f"{persona} may not open {name}")
    url, html = _page(demo_team, persona, name, language)
    text = page_text(html) + "\n" + chart_texts(html)
    for typed in typed_text(demo_team.organization):  # theirs, in their own words
        text = text.replace(typed, "")
    assert untranslated(text, language) == [], url
    assert internal_keys(text) == [], url
    assert money_misformatted(text, language) == [], url
    for figure in chart_figures(html):  # plotly's own numbers and dates, in the language
        layout = figure["layout"]
        assert layout["separators"] == (",." if language == "pt-br" else ".,"), url
        for axis in (value for key, value in layout.items() if key.startswith("xaxis")):
            if axis.get("type") == "date":
                assert len(axis["ticktext"]) == len(axis["tickvals"]) > 0, url


def test_it_labels_a_charts_months_and_numbers_in_the_readers_language():
    figure = go.Figure(go.Scatter(x=[date(2026, 9, 1), date(2026, 10, 1)], y=[1234.5, 2000]))
    with translation.override("pt-br"):
        html = chart(figure, element_id="c", label="c")
    (spec,) = chart_figures(html)
    assert spec["layout"]["separators"] == ",."
    assert spec["layout"]["xaxis"]["tickvals"] == ["2026-09-01", "2026-10-01"]
    assert spec["layout"]["xaxis"]["ticktext"] == ["Set 2026", "Out 2026"]
    assert spec["layout"]["xaxis"]["hoverformat"] == "%m/%Y"
    with translation.override("en"):
        (spec,) = chart_figures(chart(figure, element_id="c", label="c"))
    assert spec["layout"]["separators"] == ".,"
    assert spec["layout"]["xaxis"]["ticktext"] == ["Sep 2026", "Oct 2026"]


def test_it_spreads_at_most_eight_day_ticks_over_a_quarter():
    days = [date(2026, 9, 1) + timedelta(days=n) for n in range(90)]
    with translation.override("pt-br"):
        html = chart_of([{"x": days, "y": list(range(90))}], element_id="d", label="d")
    (spec,) = chart_figures(html)
    axis = spec["layout"]["xaxis"]
    assert 1 < len(axis["tickvals"]) <= 8
    assert axis["ticktext"][0] == "1 Set"
    assert axis["hoverformat"] == "%d/%m/%Y"


def test_it_finds_untranslated_text_and_internal_keys():
    html = (
        '<html lang="pt-br"><body><h1>Painel executivo</h1><p>Executive dashboard</p>'
        '<select><option lang="en">English</option><option>- Select an option -</option>'
        '</select><p title="adoption/retention">report.generated e at_risk</p>'
        "<code>report.generated</code><p>owner@demo.example · relatorio.csv</p></body></html>"
    )
    text = page_text(html)
    assert sorted(untranslated(text, "pt-br")) == ["- Select an option -", "Executive dashboard"]
    assert internal_keys(text) == ["adoption/retention", "at_risk", "report.generated"]
    assert untranslated(text, "en") == ["Painel executivo"]  # Portuguese on an English page


@pytest.mark.django_db
def test_it_names_the_survey_breakdowns_groups_in_the_readers_language(team, signed_in):
    with tenant_context(team.organization):
        lifecycle_stages_ensure()
        month = date(2026, 11, 1)
        SatisfactionMetricsFactory(month=month, n=40, value=10.0, margin=5.0)
        for dimension, key in (("touchpoint", "post_sale"), ("lifecycle_stage", "adoption")):
            SatisfactionMetricsFactory(
                month=month, dimension=dimension, key=key, n=40, value=10.0, margin=5.0
            )
    team.manager.language = "pt-br"
    team.manager.save(update_fields=["language"])
    url = reverse("surveys:results", kwargs={"org_slug": team.organization.slug})
    html = signed_in(team.manager).get(url).content.decode()
    text = page_text(html) + "\n" + chart_texts(html)
    assert "Pós-venda" in text
    assert "Adoção" in text
    assert internal_keys(text) == []
    assert "adoption" not in text
