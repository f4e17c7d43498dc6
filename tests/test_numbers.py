"""One way to show numbers: money through one formatter (csplatform.money), whatever
the page, chart, email or export."""

import re
from pathlib import Path

from django.utils import translation

from csplatform.money import money_format
from tests.one_language import money_misformatted

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    path
    for folder in ("templates", "accounts", "dashboards", "journeys", "metrics", "surveys")
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
