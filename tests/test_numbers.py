"""One way to show numbers: money through one formatter (csplatform.money), whatever
the page, chart, email or export."""

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from csplatform.money import money_format
from csplatform.tenancy import tenant_context
from tests.one_language import money_misformatted
from tests.test_executive import _figures, _month, _nps, _url

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    path
    for folder in (
        "templates",
        "accounts",
        "billing",
        "dashboards",
        "journeys",
        "metrics",
        "surveys",
    )
    for path in (ROOT / folder).rglob("*.html")
    if ".venv" not in path.parts
]
# An amount put beside its currency by hand: "{{ x|floatformat }} {{ currency }}",
# "{{ currency }} {{ x }}" or a currency code in a figure.
HAND_MADE_MONEY = re.compile(
    r"}}\s*{{\s*[\w.]*currency\s*}}|{{\s*[\w.]*currency\s*}}\s*{{|floatformat[^}]*}}\s*[A-Z]{3}\b"
)


def test_it_formats_money_one_way_in_each_language():
    with translation.override("pt-br"):
        assert money_format(10_524_500, "BRL") == "R$\u00a0105.245,00"
        assert money_format(-8_000, "BRL") == "−R$\u00a080,00"
        assert money_format(12_000, "BRL", signed=True) == "+R$\u00a0120,00"
        assert money_format(100, "USD") == "US$\u00a01,00"
    with translation.override("en"):
        assert money_format(10_524_500, "BRL") == "R$105,245.00"
        assert money_format(100, "USD") == "$1.00"
        assert money_format(100, "CHF") == "CHF\u00a01.00"
        assert money_format(None, "BRL") == "—"


def test_it_rounds_money_to_the_cent_rather_than_cutting_it():
    """A float amount (ARPA, CLV) is rounded half away from zero, never truncated, and
    nothing rounds to a negative zero."""
    with translation.override("en"):
        assert money_format(199_999.9, "BRL") == "R$2,000.00"
        assert money_format(66_666.6666, "USD") == "$666.67"
        assert money_format(-0.4, "BRL") == "R$0.00"
        assert money_format(-150.5, "BRL") == "−R$1.51"
        assert money_format(float("nan"), "BRL") == "—"


def test_it_puts_no_amount_beside_its_currency_by_hand_in_any_template():
    found = {
        str(path.relative_to(ROOT)): HAND_MADE_MONEY.findall(path.read_text(encoding="utf-8"))
        for path in TEMPLATES
    }
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_it_finds_money_written_another_way():
    assert money_misformatted("MRR BRL 105,245 · 410.00 BRL · R$1.234,00", "pt-br") == [
        "BRL 105,245",
        "410.00 BRL",
        "R$1",
    ]
    assert money_misformatted("R$105,245.00", "en") == []


@pytest.mark.django_db
def test_it_shows_changes_of_the_nps_and_of_rates_in_points(team, signed_in):
    with tenant_context(team.organization):
        _month(date(2026, 8, 1), 1_000_000, nrr=1.00)
        _month(date(2026, 9, 1), 1_100_000, nrr=1.05)
        _nps(date(2026, 8, 1), 50, 20, 38)  # −18
        _nps(date(2026, 9, 1), 50, 30, 39)  # −9
    response = signed_in(team.viewer).get(_url(team, period="2026-09"))
    page = response.content.decode()
    nps = _figures(response)["nps"]
    assert nps.change == pytest.approx(9.0)
    assert nps.relative_change is None  # never "+50.0 %"
    assert "+9.0 points" in page
    assert "+5.0 pts" in page  # NRR 100 % → 105 %
    assert "+50.0 %" not in page
    assert "+5.0 %" not in page
    assert "+10.0 %" in page  # MRR's change is money: in percent of the month before
    assert "a rate or the NPS changes in points, not in percent" in page  # the dash's why


@pytest.mark.django_db
@pytest.mark.parametrize("today", ["2026-12-02T12:00:00-03:00", "2026-12-16T12:00:00-03:00"])
def test_it_heads_the_revenue_page_with_the_last_complete_month(
    today, team, signed_in, time_machine
):
    time_machine.move_to(datetime.fromisoformat(today), tick=False)
    team.organization.time_zone = "America/Sao_Paulo"
    team.organization.save(update_fields=["time_zone"])
    with tenant_context(team.organization):
        _month(date(2026, 10, 1), 1_000_000)
        _month(date(2026, 11, 1), 1_100_000)
        _month(date(2026, 12, 1), 1_100_000)  # December has just begun: no change yet
    url = reverse("dashboards:revenue", kwargs={"org_slug": team.organization.slug})
    response = signed_in(team.manager).get(url)
    page = response.content.decode()
    assert response.context["latest"].month == date(2026, 11, 1)
    assert "November 2026, the last complete month" in page
    assert "+R$1,000.00 (+10.0 %) vs the month before" in page  # November against October
    assert "(+0.0 %)" not in page
    assert "December 2026 so far (partial month): MRR R$11,000.00" in page


@pytest.mark.django_db
def test_it_says_why_beside_every_dash_of_the_executive_figures(team, signed_in):
    with tenant_context(team.organization):
        _month(date(2026, 8, 1), 1_000_000)  # no NRR yet, no NPS, no churn rate
        _month(date(2026, 9, 1), 1_100_000)
    page = signed_in(team.viewer).get(_url(team, period="2026-09")).content.decode()
    start = page.index('id="figure-mrr"')
    rows = page[start : page.index("</tbody>", start)]
    # The benchmark column is the benchmarks' own (their range, or none set).
    cells = re.sub(r"<td>(?:(?!</td>).)*benchmark(?:(?!</td>).)*</td>", "", rows, flags=re.S)
    assert "—" in cells
    assert "—" not in re.sub(r'<span title="[^"]+">—', "", cells)  # every dash has its why
    assert 'title="no customer left in the last six months, so no churn rate' in rows
