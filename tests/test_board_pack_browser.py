"""The board pack in Debian's Chromium: the executive dashboard's charts beside the
tables at 1440 px and under them at 390 px (no sideways scroll), and the page printed
to A4 as the browser prints it: one page per section. Screenshots go to
artifacts/screenshots/ (git-ignored)."""

import io
import re

import pytest
from pypdf import PdfReader

from tests.factories import PASSWORD
from tests.test_board_pack import CHARTS, SECTIONS_EN, year  # noqa: F401 # a fixture
from tests.test_browser_dashboards import SCREENSHOTS, _plain_static_files  # noqa: F401
from tests.test_survey_browser import _browser_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base, email):
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/o/.*"))


def _box(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box, selector
    return box


def test_it_shows_the_charts_beside_the_tables_and_prints_a_page_a_section(
    live_server,
    team,
    year,  # noqa: F811
):
    url = f"{live_server.url}/o/{team.organization.slug}/executive/"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _browser_page() as page:
        _sign_in(page, live_server.url, team.viewer.email)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(url)
        drawn = page.locator("figure.svg-chart").count()
        table = _box(page, "#section-revenue .table-wrap")
        chart = _box(page, "#chart-mrr")
        page.screenshot(path=str(SCREENSHOTS / "board-pack-1440.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(url)
        sideways = page.evaluate(
            "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
        )
        narrow_table = _box(page, "#section-revenue .table-wrap")
        narrow_chart = _box(page, "#chart-mrr")
        page.screenshot(path=str(SCREENSHOTS / "board-pack-390.png"), full_page=True)

        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(url)
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", prefer_css_page_size=True)

    assert drawn == len(CHARTS)
    assert chart["x"] >= table["x"] + table["width"]  # beside the table
    assert abs(chart["y"] - table["y"]) < 40
    assert sideways <= 0
    assert narrow_chart["y"] >= narrow_table["y"] + narrow_table["height"]  # under it
    assert narrow_chart["width"] <= 390
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) == len(SECTIONS_EN), [p[:80] for p in pages]
    for text, heading in zip(pages, SECTIONS_EN, strict=True):
        assert heading in text
    text = "\n".join(pages)
    assert "How is MRR computed?" not in text
    assert "docs/metrics.md" not in text
    assert "Sign out" not in text
