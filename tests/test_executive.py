"""The board's executive dashboard: a month or a quarter from the stored metrics, against
the previous period and the organization's benchmarks; the benchmarks page; the monthly
email to viewers."""

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csplatform.clock import organization_today
from csplatform.schedules import BEAT_SCHEDULE
from csplatform.tenancy import tenant_context
from dashboards import tasks as dashboard_tasks
from dashboards.executive import (
    Period,
    add_months,
    health_mixes_compared,
    last_complete_month,
)
from dashboards.models import Benchmark, ExecutiveDigest
from dashboards.services import benchmarks_ensure
from metrics.models import AccountHealth
from tests.factories import (
    AccountFactory,
    AccountHealthFactory,
    ContactFactory,
    MembershipFactory,
    MonthlyMetricsFactory,
    SatisfactionMetricsFactory,
    UserFactory,
)
from tests.roles_executive import benchmarks_post

pytestmark = pytest.mark.django_db


def _url(team, name="executive", **query):
    url = reverse(f"dashboards:{name}", kwargs={"org_slug": team.organization.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _month(month, mrr, *, logo_churn_rate=None, nrr=None, grr=None, clv=None):
    """A month that began with 100 customers, of whom the rate's share left."""
    churned = round(100 * logo_churn_rate) if logo_churn_rate else 0
    return MonthlyMetricsFactory(
        month=month,
        mrr=mrr,
        arr=12 * mrr,
        customers=100 - churned,
        churned_customers=churned,
        logo_churn_rate=logo_churn_rate,
        nrr=nrr,
        grr=grr,
        clv=clv,
    )


def _nps(month, n, promoters, detractors):
    """NPS of a month from its n and % promoters / detractors."""
    p, d = promoters / 100, detractors / 100
    return SatisfactionMetricsFactory(
        month=month,
        n=n,
        value=(p - d) * 100,
        high=promoters,
        low=detractors,
        margin=1.96 * math.sqrt((p + d - (p - d) ** 2) / n) * 100,
    )


def _figures(response):
    return {f.spec.key: f for f in response.context["summary"].figures}


def _this_month(organization):
    return organization_today(organization).replace(day=1)


@pytest.fixture
def history(team):
    """Q2 and Q3 2026: revenue every month, NPS in three months, health snapshots."""
    with tenant_context(team.organization):
        _month(date(2026, 4, 1), 900_000, logo_churn_rate=0.04)
        _month(date(2026, 5, 1), 950_000, logo_churn_rate=0.02)
        _month(date(2026, 6, 1), 1_000_000, logo_churn_rate=0.03, nrr=1.02, grr=0.91, clv=4e6)
        _month(date(2026, 7, 1), 1_050_000, logo_churn_rate=0.06)
        _month(date(2026, 8, 1), 1_100_000, logo_churn_rate=0.04, nrr=1.04, grr=0.90, clv=5e6)
        _month(date(2026, 9, 1), 1_234_500, logo_churn_rate=None, nrr=1.12, grr=0.88, clv=6e6)
        _nps(date(2026, 6, 1), 20, 50, 25)
        _nps(date(2026, 7, 1), 10, 50, 20)
        _nps(date(2026, 9, 1), 30, 40, 30)
        accounts = [AccountFactory(name=f"Padaria Aurora {i}") for i in range(4)]
        for account, band in zip(
            accounts, ["healthy", "healthy", "neutral", "at_risk"], strict=True
        ):
            AccountHealthFactory(account=account, day=date(2026, 9, 1), band=band)
            AccountHealthFactory(account=account, day=date(2026, 9, 20), band="healthy")
        AccountHealthFactory(account=accounts[0], day=date(2026, 6, 1), band="at_risk")
    return accounts


def test_it_shows_a_months_numbers_against_the_previous_month(team, signed_in, history):
    response = signed_in(team.viewer).get(_url(team, period="2026-09"))
    assert response.status_code == 200
    figures = _figures(response)
    mrr = figures["mrr"]
    assert (mrr.value, mrr.previous, mrr.change) == (1_234_500, 1_100_000, 134_500)
    assert mrr.relative_change == pytest.approx(134_500 / 1_100_000)
    assert (mrr.direction, mrr.improved) == ("up", True)
    assert figures["arr"].value == 12 * 1_234_500
    assert figures["nrr"].change == pytest.approx(0.08)
    assert (figures["grr"].direction, figures["grr"].improved) == ("down", False)
    assert figures["gross_dollar_churn"].value == pytest.approx(0.12)
    assert figures["logo_churn_rate"].value is None  # undefined in September
    assert figures["clv"].value == 6e6
    nps = figures["nps"]
    assert (nps.value, nps.n, nps.previous) == (pytest.approx(10.0), 30, None)  # none in August
    page = response.content.decode()
    assert "September 2026" in page
    assert "R$12,345.00" in page  # money as everywhere else (csplatform.money)
    assert "+R$1,345.00" in page
    assert "+12.2 %" in page  # 134,500 ÷ 1,100,000
    assert "112.0 %" in page
    assert "+8.0 pts" in page
    assert "▲" in page
    assert "▼" in page


def test_it_shows_a_quarter_at_its_last_month_with_mean_churn_and_pooled_nps(
    team, signed_in, history
):
    response = signed_in(team.viewer).get(_url(team, period="2026-Q3"))
    figures = _figures(response)
    summary = response.context["summary"]
    assert (summary.period.key, summary.previous.key) == ("2026-Q3", "2026-Q2")
    assert (figures["mrr"].value, figures["mrr"].previous) == (1_234_500, 1_000_000)
    assert (figures["nrr"].value, figures["nrr"].previous) == (1.12, 1.02)
    assert figures["clv"].previous == 4e6
    # Logo churn: the months' churned customers ÷ their customers at the start (100 each).
    assert figures["logo_churn_rate"].value == pytest.approx((0.06 + 0.04) / 2)
    assert figures["logo_churn_rate"].previous == pytest.approx((0.04 + 0.02 + 0.03) / 3)
    # NPS over July's 10 and September's 30 responses: 17 promoters, 11 detractors in 40.
    nps = figures["nps"]
    assert nps.n == 40
    assert nps.value == pytest.approx(15.0)
    p, d = 17 / 40, 11 / 40
    assert nps.margin == pytest.approx(1.96 * math.sqrt((p + d - (p - d) ** 2) / 40) * 100)
    assert nps.previous == pytest.approx(25.0)  # June alone
    assert "Q3 2026" in response.content.decode()


def test_it_weights_a_quarters_logo_churn_by_the_customers_of_each_month(team, signed_in):
    # The review's case: 10, 50 and 100 customers at the months' starts, 2, 1 and 2 left.
    # The mean of the rates (20 %, 2 %, 2 %) said 8.0 %; 5 of 160 customers left: 3.125 %.
    with tenant_context(team.organization):
        for month, customers, new, churned in [
            (date(2026, 1, 1), 50, 42, 2),  # 10 at the start
            (date(2026, 2, 1), 100, 51, 1),  # 50
            (date(2026, 3, 1), 98, 0, 2),  # 100
        ]:
            MonthlyMetricsFactory(
                month=month,
                mrr=1_000 * customers,
                customers=customers,
                new_customers=new,
                churned_customers=churned,
                logo_churn_rate=churned / (customers - new + churned),
            )
    response = signed_in(team.viewer).get(_url(team, period="2026-Q1"))
    figure = _figures(response)["logo_churn_rate"]
    assert figure.value == pytest.approx(5 / 160)
    assert figure.previous is None  # no month of 2025 stored
    row = re.search(r'<tr id="figure-logo_churn_rate">.*?</tr>', response.content.decode(), re.S)
    assert "3.1 %" in row.group(0)


def test_it_says_too_few_answers_instead_of_a_margin_for_a_small_nps(team, signed_in):
    with tenant_context(team.organization):
        _month(date(2026, 7, 1), 100_000)
        _month(date(2026, 8, 1), 100_000)
        _month(date(2026, 9, 1), 100_000)
        for month in (date(2026, 7, 1), date(2026, 8, 1)):  # one promoter each
            SatisfactionMetricsFactory(month=month, n=1, value=100.0, high=100.0, low=0.0)
    response = signed_in(team.viewer).get(_url(team, period="2026-Q3"))
    nps = _figures(response)["nps"]
    assert (nps.value, nps.n, nps.margin) == (100.0, 2, None)
    row = re.search(r'<tr id="figure-nps">.*?</tr>', response.content.decode(), re.S).group(0)
    assert "±" not in row
    assert "too few answers for a margin · n = 2" in row


def test_it_compares_the_health_mix_at_the_same_day_of_both_periods(team, signed_in, history):
    # Q3 has 09-01 and 09-20, Q2 only 06-01 (older daily snapshots were pruned): the
    # first day of the third month in both, never 09-20 against 06-01.
    response = signed_in(team.viewer).get(_url(team, period="2026-Q3"))
    summary = response.context["summary"]
    assert summary.health.day == date(2026, 9, 1)
    assert summary.health.counts == {"healthy": 2, "neutral": 1, "at_risk": 1}
    assert summary.previous_health.day == date(2026, 6, 1)
    lines = {line.band: line for line in summary.health_lines}
    assert (lines["healthy"].count, lines["healthy"].previous, lines["healthy"].change) == (
        2,
        0,
        2,
    )
    assert (lines["at_risk"].count, lines["at_risk"].change) == (1, 0)
    assert lines["healthy"].share == 0.5
    page = response.content.decode()
    assert "+2" in page
    assert "Customers per health band on 09/01/2026, against 06/01/2026" in page

    august = signed_in(team.viewer).get(_url(team, period="2026-08"))
    assert august.context["summary"].health.day is None
    assert "No health snapshot was taken in August 2026." in august.content.decode()


def test_it_compares_the_last_days_of_both_quarters_when_both_were_kept(team, signed_in, history):
    with tenant_context(team.organization):
        for account in history:
            AccountHealthFactory(account=account, day=date(2026, 9, 30), band="at_risk")
        AccountHealthFactory(account=history[0], day=date(2026, 6, 30), band="neutral")
    response = signed_in(team.viewer).get(_url(team, period="2026-Q3"))
    summary = response.context["summary"]
    assert (summary.health.day, summary.previous_health.day) == (
        date(2026, 9, 30),
        date(2026, 6, 30),
    )
    assert summary.health.counts == {"at_risk": 4}
    assert summary.previous_health.counts == {"neutral": 1}
    assert "on 09/30/2026, against 06/30/2026" in response.content.decode()


def test_it_shows_a_period_without_a_comparable_day_alone(team, signed_in, history):
    with tenant_context(team.organization):
        AccountHealthFactory(account=history[0], day=date(2026, 10, 12), band="neutral")
        _month(date(2026, 10, 1), 1_300_000)
    # October's only snapshot is mid-month: shown, with September's last one beside.
    summary = signed_in(team.viewer).get(_url(team, period="2026-10")).context["summary"]
    assert summary.health.day == date(2026, 10, 12)
    assert summary.previous_health.day == date(2026, 9, 20)


def _snapshots(accounts, days, band="healthy"):
    for day in days:
        for account in accounts:
            AccountHealthFactory(account=account, day=day, band=band)


def _kept_days(period):
    """The days pruning keeps of an old period: each month's first and last day."""
    return [d for m in period.months for d in (m, add_months(m, 1) - timedelta(days=1))]


def _mixes_on(period):
    return health_mixes_compared(period, period.previous())


@pytest.fixture
def q1_2027_in_progress(team, time_machine):
    """30 March 2027: daily snapshots in Q1 up to today, Q4 2026 pruned to each
    month's first and last day (at_risk, to tell the periods apart)."""
    time_machine.move_to(datetime(2027, 3, 30, 15, tzinfo=UTC), tick=False)
    with tenant_context(team.organization):
        accounts = [AccountFactory() for _ in range(2)]
        q1 = Period("quarter", date(2027, 1, 1))
        _snapshots(accounts, [date(2027, 1, 1) + timedelta(days=n) for n in range(89)])
        _snapshots(accounts, _kept_days(q1.previous()), band="at_risk")
    return accounts


def test_it_shows_a_period_in_progress_at_its_latest_snapshot(team, q1_2027_in_progress):
    # Today's snapshot against the previous quarter's at the same place (30 December),
    # or the nearest kept day on or before it: the 1st (the 31st would be later).
    with tenant_context(team.organization):
        health, previous = _mixes_on(Period("quarter", date(2027, 1, 1)))
        month, month_before = _mixes_on(Period("month", date(2027, 3, 1)))
    assert (health.day, previous.day) == (date(2027, 3, 30), date(2026, 12, 1))
    assert (health.counts, previous.counts) == ({"healthy": 2}, {"at_risk": 2})
    # February has daily snapshots: the 30th of its month is its last day.
    assert (month.day, month_before.day) == (date(2027, 3, 30), date(2027, 2, 28))


def test_it_compares_a_period_in_progress_from_its_latest_snapshot_before_today(
    team, q1_2027_in_progress
):
    with tenant_context(team.organization):
        AccountHealth.objects.filter(day=date(2027, 3, 30)).delete()  # not computed yet
        _snapshots(q1_2027_in_progress, [date(2026, 12, 29)], band="neutral")
        health, previous = _mixes_on(Period("quarter", date(2027, 1, 1)))
    assert (health.day, previous.day) == (date(2027, 3, 29), date(2026, 12, 29))
    assert previous.counts == {"neutral": 2}


def test_it_reads_a_period_in_progress_in_a_constant_number_of_queries(team, q1_2027_in_progress):
    q1 = Period("quarter", date(2027, 1, 1))
    with tenant_context(team.organization), CaptureQueriesContext(connection) as small:
        _mixes_on(q1)
    with tenant_context(team.organization):
        _snapshots([AccountFactory() for _ in range(3)], [date(2027, 3, 30), date(2026, 12, 1)])
    with tenant_context(team.organization), CaptureQueriesContext(connection) as large:
        _mixes_on(q1)
    own = [q for q in large.captured_queries if 'FROM "metrics_' in q["sql"]]
    assert len(own) == len([q for q in small.captured_queries if 'FROM "metrics_' in q["sql"]])
    assert len(own) == 3  # the two days, then their mixes


def test_it_offers_stored_complete_months_and_quarters(team, signed_in, history):
    response = signed_in(team.viewer).get(_url(team, period="2026-09"))
    choices = response.context["choices"]
    assert [p.key for p in choices.months] == [
        "2026-09",
        "2026-08",
        "2026-07",
        "2026-06",
        "2026-05",
        "2026-04",
    ]
    assert [p.key for p in choices.quarters] == ["2026-Q3", "2026-Q2"]
    page = response.content.decode()
    assert '<option value="2026-Q2">' in page
    assert '<option value="2026-09" selected>' in page


def test_it_defaults_to_the_latest_complete_month(team, signed_in):
    this_month = _this_month(team.organization)
    last_month = last_complete_month(this_month)
    with tenant_context(team.organization):
        _month(last_month, 500_000)
        _month(this_month, 600_000)  # not complete yet: not offered
    response = signed_in(team.viewer).get(_url(team))
    assert response.context["summary"].period == Period("month", last_month)
    assert this_month.strftime("%Y-%m") not in [p.key for p in response.context["choices"].months]


def test_it_says_so_for_a_period_without_stored_figures(team, signed_in, history):
    for asked in ("2031-01", "2026-13", "nonsense", "2026-Q1"):
        response = signed_in(team.viewer).get(_url(team, period=asked))
        assert response.status_code == 200
        assert response.context["summary"].period.key == "2026-09"
        assert "There are no stored figures for" in response.content.decode()


def test_it_shows_an_empty_state_before_metrics_are_stored(team, signed_in):
    response = signed_in(team.viewer).get(_url(team))
    assert response.status_code == 200
    assert "summary" not in response.context
    assert "No figures to report yet" in response.content.decode()


def test_it_shows_the_benchmarks_with_source_and_year(team, signed_in, history):
    page = signed_in(team.viewer).get(_url(team, period="2026-09")).content.decode()
    for text in (
        "Recurly churn benchmarks",
        "SaaS Capital survey, 2023",
        "KeyBanc SaaS survey, 2019",
        "100–110 %",
        "90–93 %",
        "≈ 13 %",
        "≈ 5 %",
    ):
        assert text in page
    assert "Recurly churn benchmarks, year not stated" in page
    figures = _figures(signed_in(team.viewer).get(_url(team, period="2026-09")))
    # September: NRR 112 % above 100–110 %, GRR 88 % below 90–93 %, 1 − GRR 12 % under 13 %.
    assert figures["nrr"].versus_benchmark == "better"
    assert figures["grr"].versus_benchmark == "worse"
    assert figures["gross_dollar_churn"].versus_benchmark == "better"
    assert figures["nps"].benchmark is None


def test_it_creates_the_default_benchmarks_once(team):
    with tenant_context(team.organization):
        first = benchmarks_ensure()
        Benchmark.objects.filter(metric="grr").update(label_key="", custom_label="Ours")
        again = benchmarks_ensure()
        assert [b.pk for b in again] == [b.pk for b in first]
        assert [b.metric for b in again] == ["logo_churn_rate", "nrr", "grr", "gross_dollar_churn"]
        assert Benchmark.objects.get(metric="grr").label == "Ours"
        assert Benchmark.objects.count() == 4


def test_it_saves_edited_benchmarks(team, signed_in):
    with tenant_context(team.organization):
        stored = benchmarks_ensure()
    data = benchmarks_post(
        stored,
        logo_churn_rate={"low": "3", "high": "7", "year": "2024", "note": ""},
        nrr={"label": "NRR, ACV $12k–$50k", "low": "102.5", "high": ""},
    )
    response = signed_in(team.admin).post(_url(team, "benchmarks"), data)
    assert response.status_code == 302
    with tenant_context(team.organization):
        churn = Benchmark.objects.get(metric="logo_churn_rate")
        nrr = Benchmark.objects.get(metric="nrr")
    assert (churn.low, churn.high, churn.year) == (pytest.approx(0.03), pytest.approx(0.07), 2024)
    assert (nrr.label, nrr.low, nrr.high) == ("NRR, ACV $12k–$50k", 1.025, 1.025)
    page = signed_in(team.admin).get(_url(team, "benchmarks")).content.decode()
    assert 'value="102.5"' in page
    assert "Benchmarks saved." in page


def test_it_rejects_invalid_benchmarks_with_clear_errors(team, signed_in):
    with tenant_context(team.organization):
        stored = benchmarks_ensure()
    next_year = str(timezone.now().year + 1)
    data = benchmarks_post(
        stored,
        logo_churn_rate={"low": "", "high": ""},
        nrr={"low": "110", "high": "100"},
        grr={"year": next_year, "source": ""},
        gross_dollar_churn={"low": "-5"},
    )
    response = signed_in(team.admin).post(_url(team, "benchmarks"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give a value: a low, a high, or both." in page
    assert "The high end must not be below the low end." in page
    assert f"{next_year} is in the future" in page
    assert "This field is required." in page  # the source
    assert "Ensure this value is greater than or equal to 0." in page
    with tenant_context(team.organization):
        assert Benchmark.objects.get(metric="nrr").low == 1.0  # nothing saved


def test_it_shows_no_contact_or_personal_data(team, signed_in, history):
    with tenant_context(team.organization):
        contact = ContactFactory(
            account=history[0], name="Maria Souza", email="maria@aurora.example"
        )
    other = MembershipFactory(organization=team.organization, role="manager").user
    for period in ("2026-09", "2026-Q3"):
        page = signed_in(team.viewer).get(_url(team, period=period)).content.decode()
        main = page.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        for secret in ("Padaria Aurora", contact.name, contact.email, other.email):
            assert secret not in page
        assert team.owner.email not in page
        assert team.manager.email not in page
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", main)  # no address at all


def test_it_lets_a_viewer_and_a_manager_see_it(team, signed_in, history):
    for person in (team.viewer, team.manager, team.owner):
        response = signed_in(person).get(_url(team, period="2026-Q3"))
        assert response.status_code == 200
        assert "Q3 2026" in response.content.decode()
    assert signed_in(team.viewer).get(_url(team, "benchmarks")).status_code == 403
    assert signed_in(team.manager).get(_url(team, "benchmarks")).status_code == 403


def test_it_links_every_number_to_its_definition(team, signed_in, history):
    page = signed_in(team.viewer).get(_url(team, period="2026-09")).content.decode()
    for key in ("mrr", "arr", "nrr", "grr", "gross_dollar_churn", "logo_churn_rate", "clv"):
        assert f'<details class="definition" id="def-{key}">' in page
        assert page.count(f'href="#def-{key}"') >= 4  # name, value, previous, changes
    assert '<details class="definition" id="def-nps">' in page
    assert '<details class="definition" id="def-health">' in page
    assert page.count('class="card print-section exec-section"') == 5


def test_it_prints_one_section_a_page_without_navigation():
    css = (Path(__file__).resolve().parent.parent / "static/css/app.css").read_text("utf-8")
    block = css.split("/* ---------- Executive (print) ---------- */", 1)[1]
    assert block.lstrip().startswith("@media print")
    assert ".exec-section { break-after: page;" in block
    assert ".exec-tools, .exec-period { display: none !important; }" in block
    print_blocks = re.findall(r"@media print \{(.*?)\n\}", css, re.S)
    assert any(".site-nav" in b and "display: none" in b for b in print_blocks)


def test_it_reads_the_page_in_a_constant_number_of_queries(team, signed_in):
    client = signed_in(team.viewer)
    with tenant_context(team.organization):
        months = [last_complete_month(_this_month(team.organization))]
        while len(months) < 36:
            months.append(last_complete_month(months[-1]))
        for month in months[:3]:
            _month(month, 100_000, logo_churn_rate=0.05)
            _nps(month, 10, 50, 20)
        AccountHealthFactory(day=months[0])
        AccountHealthFactory(day=months[1])  # the previous month's, at the same place
    client.get(_url(team))  # creates the benchmarks
    with CaptureQueriesContext(connection) as small:
        assert client.get(_url(team)).status_code == 200
    with tenant_context(team.organization):
        for month in months[3:]:
            _month(month, 100_000, logo_churn_rate=0.05)
            _nps(month, 10, 50, 20)
        for account in [AccountFactory() for _ in range(5)]:
            AccountHealthFactory(account=account, day=months[0])
    with CaptureQueriesContext(connection) as large:
        response = client.get(_url(team))
    assert len(response.context["choices"].months) == 36
    assert len(large) == len(small), "\n".join(q["sql"] for q in large.captured_queries)
    # The page's own reads: periods, benchmarks, revenue and NPS (with the charts' 12
    # months), the mix of the days compared, the charts' monthly health mix.
    own = [q for q in small.captured_queries if re.search(r'FROM "(metrics|dashboards)_', q["sql"])]
    assert len(own) == 6


# --- the monthly email -----------------------------------------------------------------


def _bodies(message):
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    }
    return parts["text/plain"], parts["text/html"]


def test_it_emails_each_viewer_in_their_language_once_a_month(team, smtp, settings):
    settings.SITE_URL = "https://cs.example.com"
    organization = team.organization
    month = last_complete_month(_this_month(organization))
    previous = last_complete_month(month)
    team.viewer.language = "pt-br"
    team.viewer.email = "conselho@board.example"
    team.viewer.save()
    english = UserFactory(email="board@board.example", language="en")
    MembershipFactory(organization=organization, user=english, role="viewer")
    with tenant_context(organization):
        _month(previous, 1_100_000, nrr=1.0)
        _month(month, 1_234_500, nrr=1.05)
        _nps(month, 30, 40, 30)

    assert dashboard_tasks.send_executive_digest(organization.pk) == 2
    messages = {m["To"]: m for m in smtp.wait_for(2)}
    assert set(messages) == {"conselho@board.example", "board@board.example"}  # viewers only
    url = f"https://cs.example.com/o/{organization.slug}/executive/?period={month:%Y-%m}"
    for address, language, mrr in (
        ("conselho@board.example", "pt-br", "R$\u00a012.345,00"),
        ("board@board.example", "en", "R$12,345.00"),
    ):
        text, html = _bodies(messages[address])
        assert f'<html lang="{language}">' in html
        assert mrr in text
        assert mrr in html
        assert url in text
        assert f'href="{url}"' in html
        assert "Padaria" not in text
    english_text, _html = _bodies(messages["board@board.example"])
    assert "MRR: R$12,345.00" in english_text
    assert "+R$1,345.00" in english_text
    assert "NPS: 10 (± " in english_text
    assert "n = 30" in english_text
    assert "GRR: — (needs 12 months of history)" in english_text  # a dash says why
    portuguese_text, _html = _bodies(messages["conselho@board.example"])
    assert "— (precisa de 12 meses de histórico)" in portuguese_text

    # A second run for the same month sends nothing.
    smtp.messages.clear()
    assert dashboard_tasks.send_executive_digest(organization.pk) == 0
    assert smtp.messages == []
    with tenant_context(organization):
        digest = ExecutiveDigest.objects.get()
    assert (digest.month, digest.recipients) == (month, 2)


def test_it_waits_for_the_months_metrics_before_emailing(team, smtp):
    assert dashboard_tasks.send_executive_digest(team.organization.pk) == 0
    with tenant_context(team.organization):
        assert not ExecutiveDigest.objects.exists()
    assert smtp.messages == []


def test_it_schedules_the_monthly_email_daily_in_the_schedule_module():
    # Daily: a day whose run fails is retried the next; each month goes out once.
    entry = BEAT_SCHEDULE["send-executive-digest"]
    assert entry["task"] == "dashboards.tasks.send_executive_digest_sweep"
    schedule = entry["schedule"]
    assert len(schedule.day_of_month) == 31
    assert (schedule.hour, schedule.minute) == ({8}, {0})


def test_it_waits_until_the_months_metrics_were_recomputed_after_it_ended(team, smtp):
    organization = team.organization
    month = last_complete_month(_this_month(organization))
    with tenant_context(organization):
        row = _month(month, 1_000_000)
        # Computed while the month was still running: its figures were not final.
        row.computed_at = datetime.combine(month, time(12), tzinfo=UTC)
        row.save(update_fields=["computed_at"])
    assert dashboard_tasks.send_executive_digest(organization.pk) == 0
    assert smtp.messages == []


def test_it_still_emails_the_other_viewers_when_one_address_cannot_be_used(team, smtp):
    organization = team.organization
    team.viewer.email = "joão@board.example"  # no SMTP envelope can carry it
    team.viewer.save()
    MembershipFactory(
        organization=organization, user=UserFactory(email="ok@board.example"), role="viewer"
    )
    with tenant_context(organization):
        _month(last_complete_month(_this_month(organization)), 1_000_000)
    assert dashboard_tasks.send_executive_digest(organization.pk) == 1
    assert [m["To"] for m in smtp.wait_for(1)] == ["ok@board.example"]
    with tenant_context(organization):
        assert ExecutiveDigest.objects.get().recipients == 1


@pytest.mark.parametrize("period", ["0000-01", "0000-Q1", "2026-13", "9999-Q9", "x"])
def test_it_answers_an_impossible_period_with_the_default_one(team, signed_in, period):
    url = reverse("dashboards:executive", kwargs={"org_slug": team.organization.slug})
    assert signed_in(team.viewer).get(url, {"period": period}).status_code == 200
