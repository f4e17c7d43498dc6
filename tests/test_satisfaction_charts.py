"""Charts on the survey results page: the chosen kind's trend with its 95 % margin of
error as a band, and the latest month by touchpoint and by segment with error bars."""

import json
import re
from datetime import date

import pytest
from django.urls import reverse

from csplatform.tenancy import tenant_context
from tests.factories import SatisfactionMetricsFactory

pytestmark = pytest.mark.django_db


def _page(client, organization, **params):
    url = reverse("surveys:results", kwargs={"org_slug": organization.slug})
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def _figure(page, element_id):
    found = re.search(
        rf'<script id="{element_id}-figure" type="application/json">(.*?)</script>', page, re.S
    )
    assert found, f"no {element_id} figure on the page"
    return json.loads(found.group(1))


@pytest.fixture
def nps(team):
    with tenant_context(team.organization):
        for month, value, margin in [
            (date(2026, 7, 1), 20.0, 30.0),
            (date(2026, 8, 1), 40.0, 10.0),
            (date(2026, 9, 1), 50.0, None),  # one response: no margin
            (date(2026, 10, 1), 90.0, 15.0),
        ]:
            SatisfactionMetricsFactory(month=month, value=value, margin=margin, n=12)
        latest = date(2026, 10, 1)
        for dimension, key, value, margin, n in [
            ("touchpoint", "support", 50.0, 20.0, 8),
            ("touchpoint", "product", 10.0, None, 1),
            ("segment", "enterprise", 60.0, 25.0, 5),
            ("stage", "onboarding", 30.0, 40.0, 3),
        ]:
            SatisfactionMetricsFactory(
                month=latest, dimension=dimension, key=key, value=value, margin=margin, n=n
            )
        SatisfactionMetricsFactory(month=latest, kind="csat", value=70.0, margin=5.0, n=40)


def test_it_draws_the_trend_with_its_margin_of_error_as_a_band(team, signed_in, nps):
    page = _page(signed_in(team.manager), team.organization)
    band, score = _figure(page, "satisfaction-trend")["data"]
    assert score["y"] == [20.0, 40.0, 50.0, 90.0]
    assert score["customdata"] == [12, 12, 12, 12]
    # July and August have margins: one shape, along the highs and back along the lows.
    assert band["fill"] == "toself"
    assert band["x"] == ["Jul 2026", "Aug 2026", "Aug 2026", "Jul 2026"]
    assert band["y"] == [50.0, 50.0, 30.0, -10.0]
    # September has none; October, alone, gets an error bar capped at NPS's 100.
    assert score["error_y"]["array"] == [None, None, None, 10.0]
    assert score["error_y"]["arrayminus"] == [None, None, None, 15.0]
    assert "plotly/plotly.min" in page
    # The chart sits above the table that says the same.
    assert page.index("satisfaction-trend") < page.index("<td>Oct 2026</td>")


def test_it_draws_touchpoints_and_segments_with_error_bars(team, signed_in, nps):
    page = _page(signed_in(team.manager), team.organization)
    touchpoints = _figure(page, "satisfaction-touchpoint")["data"][0]
    assert touchpoints["type"] == "bar"
    assert touchpoints["x"] == ["Support", "Product"]  # largest group first, by name
    assert touchpoints["y"] == [50.0, 10.0]
    assert touchpoints["error_y"]["array"] == [20.0, None]
    segments = _figure(page, "satisfaction-segment")["data"][0]
    assert segments["x"] == ["enterprise"]
    assert segments["error_y"]["array"] == [25.0]
    assert "satisfaction-stage" not in page  # lifecycle stages stay a table
    assert "<td>onboarding</td>" in page


def test_it_charts_the_chosen_kind(team, signed_in, nps):
    page = _page(signed_in(team.manager), team.organization, kind="csat")
    [score] = _figure(page, "satisfaction-trend")["data"]  # one month: no band to draw
    assert score["y"] == [70.0]
    assert (score["error_y"]["arrayminus"], score["error_y"]["array"]) == ([5.0], [5.0])
    assert "satisfaction-touchpoint" not in page


def test_it_draws_no_chart_without_responses(team, signed_in):
    page = _page(signed_in(team.manager), team.organization)
    assert 'class="chart"' not in page
    assert "plotly/plotly.min" not in page


MARKUP = '<a href="https://evil.example/">Enterprise</a> & <b>R&amp;D</b>'
# Plotly draws `<a href>`, `<b>`, `<br>`… in a label as markup, and turns `&lt;`, `&gt;`
# and `&amp;` back into the characters: escaped, the name reads as it was typed.
SHOWN_AS_TYPED = (
    '&lt;a href="https://evil.example/"&gt;Enterprise&lt;/a&gt; &amp; '
    "&lt;b&gt;R&amp;amp;D&lt;/b&gt;"
)


def test_it_escapes_plotly_markup_in_names_people_typed(team, signed_in):
    with tenant_context(team.organization):
        latest = date(2026, 10, 1)
        SatisfactionMetricsFactory(month=latest, value=40.0, margin=10.0, n=9)
        for dimension in ("touchpoint", "segment"):
            SatisfactionMetricsFactory(
                month=latest, dimension=dimension, key=MARKUP, value=40.0, margin=10.0, n=9
            )
    page = _page(signed_in(team.manager), team.organization)
    for dimension in ("touchpoint", "segment"):
        bars = _figure(page, f"satisfaction-{dimension}")["data"][0]
        assert bars["x"] == [SHOWN_AS_TYPED]


def test_it_escapes_what_plotly_reads_as_markup_and_nothing_else():
    from csplatform.charts import plotly_text

    assert plotly_text("<br>") == "&lt;br&gt;"
    assert plotly_text('Tom & Jerry\'s "place"') == 'Tom &amp; Jerry\'s "place"'
    assert plotly_text("São Paulo — 100 %") == "São Paulo — 100 %"
