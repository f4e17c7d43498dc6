"""The board pack: the executive dashboard's small charts of the last 12 months, its
print rules, the PDF rendered on the server by WeasyPrint (one A4 page per section, in
the reader's language, nothing fetched from the network) and the monthly email to
viewers that attaches it."""

import io
import re
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from pypdf import PdfReader

from csplatform.clock import organization_today
from csplatform.tenancy import tenant_context
from dashboards import board_pack as board_pack_module
from dashboards import services as dashboard_services
from dashboards import tasks as dashboard_tasks
from dashboards.board_pack import static_file_for, static_files_only_fetcher
from dashboards.executive import add_months, last_complete_month
from tests.factories import (
    AccountFactory,
    AccountHealthFactory,
    MembershipFactory,
    MonthlyMetricsFactory,
    SatisfactionMetricsFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECTIONS_EN = ["Revenue", "Retention and churn", "Satisfaction", "Health mix", "Benchmarks"]
SECTIONS_PT = [
    "Receita",
    "Retenção e churn",
    "Satisfação",
    "Distribuição da saúde",
    "Referências de mercado",
]
CHARTS = ["chart-mrr", "chart-nrr-grr", "chart-logo-churn", "chart-nps", "chart-health-mix"]


def _last_month(team):
    return last_complete_month(organization_today(team.organization))


@pytest.fixture
def year(team):
    """The 12 months up to the last complete one: revenue in all but the sixth, NRR only
    in the last three (too little history before), NPS in every other month, and the
    health mix at each month's end (three accounts)."""
    last = _last_month(team)
    months = [add_months(last, i - 11) for i in range(12)]
    with tenant_context(team.organization):
        for i, month in enumerate(months):
            if i == 5:
                continue
            MonthlyMetricsFactory(
                month=month,
                mrr=1_000_000 + 10_000 * i,
                arr=12 * (1_000_000 + 10_000 * i),
                customers=100,
                logo_churn_rate=0.01 * (i % 4),
                nrr=1.02 if i >= 9 else None,
                grr=0.93 if i >= 9 else None,
            )
            if i % 2 == 0:
                SatisfactionMetricsFactory(month=month, n=20, value=10.0 + i, margin=12.0)
        accounts = [AccountFactory() for _ in range(3)]
        for month in months:
            month_end = add_months(month, 1).replace(day=1)
            day = date.fromordinal(month_end.toordinal() - 1)
            for account, band in zip(accounts, ["healthy", "neutral", "at_risk"], strict=True):
                AccountHealthFactory(account=account, day=day, band=band)
    return months


def _url(team, name, **query):
    url = reverse(f"dashboards:{name}", kwargs={"org_slug": team.organization.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _figure(page, element_id):
    found = re.search(rf'<figure class="svg-chart" id="{element_id}".*?</figure>', page, re.S)
    assert found, f"no chart {element_id}"
    return found[0]


def _pdf_pages(data):
    reader = PdfReader(io.BytesIO(data))
    return reader, [page.extract_text() for page in reader.pages]


# --- the page's charts -----------------------------------------------------------------


def test_it_shows_the_five_charts_with_twelve_months_beside_the_tables(team, signed_in, year):
    page = signed_in(team.viewer).get(_url(team, "executive")).content.decode()
    for element_id in CHARTS:
        chart = _figure(page, element_id)
        months = re.findall(r'<text [^>]*text-anchor="middle"[^>]*>([A-Za-z]{3})</text>', chart)
        assert len(months) == 12, element_id
        assert 'role="img"' in chart
    # Each section's charts follow its table (beside it on a wide screen, under it on a phone).
    for section, charts in (
        ("revenue", ["chart-mrr"]),
        ("retention", ["chart-nrr-grr", "chart-logo-churn"]),
        ("satisfaction", ["chart-nps"]),
        ("health", ["chart-health-mix"]),
    ):
        body = page.split(f'id="section-{section}"', 1)[1].split("</section>", 1)[0]
        assert body.index('<div class="exec-charts">') > body.index("</table>")
        assert [c for c in CHARTS if f'id="{c}"' in body] == charts


def test_it_shows_a_missing_month_as_a_gap_with_its_reason(team, signed_in, year):
    page = signed_in(team.viewer).get(_url(team, "executive")).content.decode()
    missing = year[5]
    label = f"{missing:%b %Y}"
    mrr = _figure(page, "chart-mrr")
    assert f"No value for {label}: no metrics stored for the month." in mrr
    assert mrr.count("<circle") == 11  # no zero drawn for it
    nrr = _figure(page, "chart-nrr-grr")
    assert "not enough history yet (12 months needed)" in nrr
    nps = _figure(page, "chart-nps")
    assert "no responses" in nps
    assert nps.count("<circle") == 6
    health = _figure(page, "chart-health-mix")
    assert health.count('class="chart-bar"') == 36  # 12 months × 3 bands
    assert "No value for" not in health


def test_it_draws_the_charts_in_the_readers_language(team, signed_in, year):
    team.viewer.language = "pt-br"
    team.viewer.save()
    page = signed_in(team.viewer).get(_url(team, "executive")).content.decode()
    mrr = _figure(page, "chart-mrr")
    assert "MRR e ARR, últimos 12 meses" in mrr
    assert "sem métricas guardadas para o mês" in mrr
    assert re.search(r"R\$\xa0\d{2}\.\d{3},\d{2}", mrr)  # R$ 10.100,00: one money format
    assert "Distribuição da saúde, últimos 12 meses" in _figure(page, "chart-health-mix")


def test_it_offers_the_pdf_on_the_page(team, signed_in, year):
    page = signed_in(team.viewer).get(_url(team, "executive")).content.decode()
    href = _url(team, "board_pack", period=f"{year[-1]:%Y-%m}")
    assert f'href="{href}"' in page
    assert "Print / Download PDF" in page


# --- print rules -----------------------------------------------------------------------


def test_it_prints_a4_pages_without_definitions_or_links_urls():
    css = (Path(settings.BASE_DIR) / "static/css/app.css").read_text("utf-8")
    assert re.search(r"@page \{ size: A4;", css)
    block = css.split("/* ---------- Executive (print) ---------- */", 1)[1].split("/* ---", 1)[0]
    assert ".exec-section details.definition { display: none !important; }" in block
    assert ".exec-section { break-after: page;" in block
    assert ".svg-chart { break-inside: avoid; }" in block
    assert "content: attr(href)" not in css  # no URL printed after a link


# --- the PDF ---------------------------------------------------------------------------


def test_it_renders_one_pdf_page_per_section_without_definitions_or_paths(team, signed_in, year):
    response = signed_in(team.viewer).get(_url(team, "board_pack", period=f"{year[-1]:%Y-%m}"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        f"board-pack-{team.organization.slug}-{year[-1]:%Y-%m}.pdf"
        in (response["Content-Disposition"])
    )
    reader, pages = _pdf_pages(response.content)
    assert len(pages) == len(SECTIONS_EN)
    for text, heading in zip(pages, SECTIONS_EN, strict=True):
        assert heading in text
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4, in points
    assert round(float(reader.pages[0].mediabox.height)) == 842
    text = "\n".join(pages)
    for path in ("/static/", "/work/", "docs/metrics.md", str(settings.BASE_DIR)):
        assert path not in text
    assert "Monthly recurring revenue: the sum" not in text  # definitions stay folded
    assert "How is MRR computed?" not in text
    assert "MRR and ARR, last 12 months" in pages[0]  # the charts are drawn in it
    assert "Health mix, last 12 months" in pages[3]


def test_it_renders_the_pdf_in_the_readers_language(team, signed_in, year):
    team.viewer.language = "pt-br"
    team.viewer.save()
    response = signed_in(team.viewer).get(_url(team, "board_pack"))
    _reader, pages = _pdf_pages(response.content)
    assert len(pages) == len(SECTIONS_PT)
    for text, heading in zip(pages, SECTIONS_PT, strict=True):
        assert heading in text
    assert "Revenue" not in "\n".join(pages)


def test_it_renders_an_empty_pack_before_any_figure_is_stored(team, signed_in):
    response = signed_in(team.viewer).get(_url(team, "board_pack"))
    assert response.status_code == 200
    _reader, pages = _pdf_pages(response.content)
    assert "No figures to report yet" in pages[0]


def test_it_answers_another_organizations_pdf_with_404(team, signed_in, year):
    assert signed_in(team.outsider).get(_url(team, "board_pack")).status_code == 404


# --- nothing from the network ------------------------------------------------------------


def _counting_renders(monkeypatch, settings):
    """Every PDF WeasyPrint renders for the board pack (the real render, counted), with a
    cache of this test's own (a fresh key prefix: what earlier runs kept is not seen)."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"csp-test-{uuid.uuid4().hex}"}
    }
    rendered = []
    real = board_pack_module._pdf_of

    def counting(html):
        rendered.append(html)
        return real(html)

    monkeypatch.setattr(board_pack_module, "_pdf_of", counting)
    return rendered


def test_it_renders_the_same_pack_once_and_serves_it_again_from_the_cache(
    team, signed_in, year, monkeypatch, settings
):
    rendered = _counting_renders(monkeypatch, settings)
    client = signed_in(team.viewer)
    url = _url(team, "board_pack", period=f"{year[-1]:%Y-%m}")
    first = client.get(url).content
    second = client.get(url).content
    assert len(rendered) == 1
    assert first == second
    assert first.startswith(b"%PDF-")


def test_it_renders_anew_when_a_figure_or_the_language_changes(
    team, signed_in, year, monkeypatch, settings
):
    rendered = _counting_renders(monkeypatch, settings)
    client = signed_in(team.viewer)
    url = _url(team, "board_pack", period=f"{year[-1]:%Y-%m}")
    with tenant_context(team.organization):
        latest = MonthlyMetricsFactory._meta.model.objects.get(month=year[-1])
        latest.mrr = 3_141_592
        latest.save()
    before = client.get(url).content
    with tenant_context(team.organization):
        latest.mrr = 2_718_281
        latest.save()
    after = client.get(url).content
    team.viewer.language = "pt-br"
    team.viewer.save()
    portuguese = client.get(url).content
    assert len(rendered) == 3
    assert "31,415.92" in rendered[0]
    assert "27,182.81" in rendered[1]
    assert "31,415.92" not in rendered[1]
    assert "27.182,81" in rendered[2]
    assert before != after
    assert after != portuguese


def test_it_renders_the_pack_when_the_cache_is_unreachable(team, signed_in, year, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    response = signed_in(team.viewer).get(_url(team, "board_pack"))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    assert "board pack: the cache is unreachable; rendering" in caplog.text


def test_it_maps_only_our_static_files_to_disk(settings):
    settings.SITE_URL = "https://cs.example.com"
    css = static_file_for("https://cs.example.com/static/css/app.css")
    assert css is not None
    assert css.read_text("utf-8").startswith(
        Path(settings.BASE_DIR, "static/css/app.css").read_text("utf-8")[:40]
    )
    for url in (
        "https://cs.example.com/static/../csplatform/settings.py",
        "https://cs.example.com/static/%2e%2e/csplatform/settings.py",
        "https://cs.example.com/static/css/no-such-file.css",
        "https://cs.example.com/media/upload.csv",
        "http://cs.example.com/static/css/app.css",  # another origin
        "https://evil.example/static/css/app.css",
        "http://127.0.0.1:8000/static/css/app.css",
        "file:///etc/passwd",
        "data:text/css,body{}",
    ):
        assert static_file_for(url) is None, url


@pytest.fixture
def http_server():
    """A web server on loopback that records every request it gets."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()


def test_it_fetches_nothing_from_the_network_when_rendering(http_server, settings):
    from weasyprint import HTML

    base, requests = http_server
    html = f"""<!doctype html><html><head>
    <link rel="stylesheet" href="{base}/tracker.css">
    <link rel="stylesheet" href="/static/css/app.css">
    </head><body class="board-pack"><h1>Pack</h1>
    <img src="{base}/pixel.png" alt=""><img src="file:///etc/hostname" alt="">
    <p style="background: url({base}/bg.png)">x</p></body></html>"""
    pdf = HTML(
        string=html, base_url=settings.SITE_URL + "/", url_fetcher=static_files_only_fetcher()
    ).write_pdf()
    assert requests == []
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert round(float(page.mediabox.width)) == 595  # app.css was read from disk (@page A4)


def test_it_refuses_what_is_not_a_static_file_at_the_fetcher():
    fetcher = static_files_only_fetcher()
    with pytest.raises(board_pack_module.FetchRefusedError):
        fetcher.fetch("http://127.0.0.1:9/x.png")
    with pytest.raises(board_pack_module.FetchRefusedError):
        fetcher.fetch("file:///etc/passwd")
    response = fetcher.fetch(settings.SITE_URL + "/static/css/app.css")
    assert response.content_type == "text/css"
    assert b".exec-charts" in response.read()


# --- the monthly email -----------------------------------------------------------------


def _pdf_attachment(message):
    parts = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    return parts[0].get_filename(), parts[0].get_payload(decode=True)


def test_it_attaches_the_pack_in_each_viewers_language_rendered_once_per_language(
    team, smtp, year, monkeypatch
):
    organization = team.organization
    team.viewer.language = "pt-br"
    team.viewer.email = "conselho@board.example"
    team.viewer.save()
    for address in ("board@board.example", "chair@board.example"):
        MembershipFactory(
            organization=organization, user=UserFactory(email=address, language="en"), role="viewer"
        )
    rendered = []
    real = dashboard_services.board_pack_pdf

    def counting(**kwargs):
        rendered.append(kwargs["language"])
        return real(**kwargs)

    monkeypatch.setattr(dashboard_services, "board_pack_pdf", counting)

    assert dashboard_tasks.send_executive_digest(organization.pk) == 3
    assert sorted(rendered) == ["en", "pt-br"]  # once per language, not once per viewer
    messages = {m["To"]: m for m in smtp.wait_for(3)}
    expected = f"board-pack-{organization.slug}-{year[-1]:%Y-%m}.pdf"
    for address, headings in (
        ("conselho@board.example", SECTIONS_PT),
        ("board@board.example", SECTIONS_EN),
        ("chair@board.example", SECTIONS_EN),
    ):
        name, data = _pdf_attachment(messages[address])
        assert name == expected
        assert data.startswith(b"%PDF-")
        _reader, pages = _pdf_pages(data)
        assert len(pages) == len(headings)
        for text, heading in zip(pages, headings, strict=True):
            assert heading in text
    portuguese = "\n".join(_pdf_pages(_pdf_attachment(messages["conselho@board.example"])[1])[1])
    assert "Revenue" not in portuguese
