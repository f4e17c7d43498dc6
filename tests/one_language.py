"""One language per screen: what a page shows a reader that is not in the reader's
language. Shared by the server-side walk (tests/test_one_language.py) and the browser
walk, which passes the text it reads from each page.

    from tests.one_language import page_text, untranslated, internal_keys
    problems = untranslated(page_text(html), "pt-br") + internal_keys(page_text(html))

- `untranslated(text, language)`: every English msgid of the catalogue (ours and Django's)
  that appears in `text` although `language` translates it to something else; for
  English, every pt-BR sentence of the catalogue that appears in `text`. A msgid's
  placeholders (`%(name)s`, `%s`) match anything; msgids shorter than three letters,
  and single words that are also Portuguese words or names, are left out (`IGNORED`).
- `internal_keys(text)`: snake_case, dotted or slashed lower-case keys (`at_risk`,
  `report.generated`, `adoption/retention`) outside e-mail addresses, URLs and file names.
- `money_misformatted(text, language)`: amounts not written the one way
  (csplatform.money): "BRL 105,245", "410.00 BRL", or "R$105.245,00" in pt-BR.
- `page_text(html)`: what a reader reads (or a screen reader says) on a page: its text
  nodes and its title, aria-label, placeholder, alt and button-value attributes, without
  scripts, styles and plotly's data blocks (`chart_texts(html)` reads those: titles,
  trace names, tick labels).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from html.parser import HTMLParser
from typing import Any

from django.utils import translation
from django.utils.translation import trans_real

# Words the catalogue has as msgids that are also Portuguese (or a name, a unit): seeing
# them on a Portuguese page says nothing.
IGNORED = frozenset(
    {
        "ARR",
        "ARPA",
        "CES",
        "CLV",
        "CSAT",
        "CSV",
        "E-mail",
        "Email",
        "Feedback",
        "GRR",
        "ID",
        "MRR",
        "NPS",
        "NRR",
        "Ok",
        "OK",
        "Playbook",
        "Playbooks",
        "SMB",
        "Total",
        "URL",
        "Webhook",
        "Enterprise",
        "Slack",
        "Stripe",
        "Portal",
        "Status",
        "Score",
        "UTF-8",
    }
)

# Django's and the packages' msgids are read from this language's catalogue too, so a
# msgid they translate but pt-BR does not is still found.
REFERENCE = "fr"
OTHER = "pt-br"  # what an English page must not show
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdfi]|%[sdfi]|%%")
_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


@cache
def _patterns(language: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(msgid, pattern) for every msgid that `language` renders differently, or does not
    translate although another language does (Django's "- Select an option -")."""
    catalog = trans_real.translation(language)._catalog  # the merged catalogue
    other = trans_real.translation(REFERENCE)._catalog
    translated_here = {_msgid(key) for key, _value in catalog.items()}
    found: dict[str, re.Pattern[str]] = {}
    candidates = [(key, value) for key, value in catalog.items()] + [
        (key, None) for key, _value in other.items() if _msgid(key) not in translated_here
    ]
    if language.lower().startswith("en"):  # on an English page, look for pt-BR sentences
        candidates = [
            (value, None)
            for key, value in trans_real.translation(OTHER)._catalog.items()
            if isinstance(value, str) and value != _msgid(key)
        ]
    for key, translated in candidates:
        msgid = _msgid(key)
        if not msgid or msgid in found or msgid in IGNORED:
            continue
        if translated is None and not _telling(msgid):  # "out", "set": English words too
            continue
        if translated is not None and (
            translated == msgid or (isinstance(key, tuple) and msgid in str(translated))
        ):
            continue
        pieces = [piece.strip() for piece in _PLACEHOLDER.split(msgid)]
        if sum(len(re.findall(r"[A-Za-z]", piece)) for piece in pieces) < 3:
            continue
        if "\n" in msgid or "<" in msgid:  # a paragraph of markup is checked by its words
            continue
        words = len(re.findall(r"[A-Za-z]+", " ".join(pieces)))
        if (pieces[0] == "" or pieces[-1] == "") and words < 2:  # "%(num)d week": too little
            continue
        body = r"\s*.+?\s*".join(re.escape(piece) for piece in pieces if piece)
        found[msgid] = re.compile(rf"(?<![\w@./#-]){body}(?![\w@/-]|\.\w)")
    return tuple(found.items())


def _telling(sentence: str) -> bool:
    """Whether a pt-BR sentence seen on an English page can only be Portuguese: it has an
    accent, or two words, or one word of six letters or more (not "out", "set", "ago")."""
    words = [w for w in re.findall(r"[^\W\d_]+", _PLACEHOLDER.sub(" ", sentence)) if len(w) > 1]
    words = [w for w in words if not w.isupper() and w not in IGNORED]
    if any(ord(c) > 127 for w in words for c in w):
        return True
    return len(words) >= 2 or any(len(w) >= 6 for w in words)


def _msgid(key: str | tuple[str, int]) -> str:
    msgid = key[0] if isinstance(key, tuple) else key
    return msgid.split("\x04", 1)[-1]  # pgettext's context


def untranslated(text: str, language: str) -> list[str]:
    """The English msgids seen in `text` that `language` translates; for English, the
    pt-BR sentences of the catalogue seen in `text` (Portuguese on an English page)."""
    with translation.override(language):
        return [msgid for msgid, pattern in _patterns(language) if pattern.search(text)]


_KEY = re.compile(
    r"(?<![\w@./:%#-])"
    r"[a-z][a-z0-9]*(?:[_./][a-z][a-z0-9]*)+"
    r"(?![\w@/-]|\.[a-z])"
)
# Words with a dot or slash that are no key: file names, hosts and the like.
_NOT_A_KEY = re.compile(
    r"\.(csv|zip|json|pdf|png|txt|xlsx|html|md|py|js|css|example|test|com|org|net|br|io|local)$"
    r"|^(e/ou|and/or|km/h|i\.e|e\.g|a\.m|p\.m|p\.p)$"
)


def internal_keys(text: str) -> list[str]:
    """The internal keys in `text`: `at_risk`, `report.generated`, `adoption/retention`."""
    keys = []
    for match in _KEY.finditer(text):
        word = match.group(0)
        if _NOT_A_KEY.search(word):
            continue
        keys.append(word)
    return sorted(set(keys))


def _other_language(values: dict[str, str | None], language: str) -> bool:
    own = (values.get("lang") or "").lower().split("-")[0]
    return bool(own) and own != language.split("-")[0]


_CODE_AMOUNT = re.compile(
    r"\b(?:BRL|USD|EUR|GBP)[ \u00a0]?[−+-]?\d[\d.,]*|\d[\d.,]*[ \u00a0]?(?:BRL|USD|EUR|GBP)\b"
)
_STUCK_SYMBOL = re.compile(r"(?:R|US)\$[−+-]?\d")


def money_misformatted(text: str, language: str) -> list[str]:
    """Amounts in `text` not written as csplatform.money writes them: with a currency
    code beside the number ("BRL 105,245", "410.00 BRL"), or, in Portuguese, a symbol
    stuck to it ("R$105.245,00" instead of "R$ 105.245,00")."""
    found = [m.group(0) for m in _CODE_AMOUNT.finditer(text)]
    if not language.lower().startswith("en"):
        found += [m.group(0) for m in _STUCK_SYMBOL.finditer(text)]
    return found


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.charts: list[str] = []
        self._skipping: str | None = None
        self._chart = False
        self._foreign: str | None = None  # an element in another language (lang="en")
        self._depth = 0
        self.language = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.language = (values.get("lang") or "").lower()
        elif self._foreign == tag:
            self._depth += 1
        elif self._foreign is None and self.language and _other_language(values, self.language):
            self._foreign, self._depth = tag, 1  # said in its own language, on purpose
        if tag in ("script", "style", "template", "code", "kbd"):
            self._skipping = tag
            self._chart = tag == "script" and values.get("type") == "application/json"
        if self._foreign is not None:
            return
        for name in _ATTRIBUTES:
            if values.get(name):
                self.parts.append(str(values[name]))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._skipping:
            self._skipping = None
            self._chart = False
        if tag == self._foreign:
            self._depth -= 1
            if self._depth == 0:
                self._foreign = None
        if tag in ("p", "li", "td", "th", "div", "option", "dt", "dd", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._foreign is not None:
            return
        if self._skipping is None:
            self.parts.append(data)
        elif self._chart:
            self.charts.append(data)


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def page_text(html: str) -> str:
    """What a reader reads on the page: text and labelling attributes, one space apart."""
    return re.sub(r"[ \t\r\f\v]+", " ", " ".join(_read(html).parts))


def chart_figures(html: str) -> list[dict[str, Any]]:
    """The plotly figures of the page (the JSON data blocks charts.js draws)."""
    return [json.loads(block) for block in _read(html).charts]


def _strings(value: Any, names: tuple[str, ...]) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in names and isinstance(item, str):
                yield item
            elif key in names and isinstance(item, list):
                yield from (str(v) for v in item if isinstance(v, str))
            else:
                yield from _strings(item, names)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, names)


def chart_texts(html: str) -> str:
    """The words plotly draws: titles, trace names, tick labels, annotations, hover text."""
    names = ("text", "name", "ticktext", "hovertemplate")
    return "\n".join(
        re.sub(r"<[^>]+>|%\{[^}]*\}", " ", s)
        for figure in chart_figures(html)
        for s in _strings(figure, names)
    )


def typed_text(organization: Any) -> list[str]:
    """What people typed, shown as typed in any language (docs/i18n.md): the members'
    names, touchpoint types, customers' names and comments, benchmark sources (publication
    titles), the names of surveys, campaigns and saved segments, and the playbooks'
    own names and task titles. Longest first, so a name inside another is not cut out
    of it."""
    from accounts.models import Account, Segment, User
    from csplatform.tenancy import tenant_context
    from dashboards.models import Benchmark
    from journeys.models import Playbook, TouchpointType
    from surveys.models import Campaign, Response, Survey

    with tenant_context(organization):
        typed = [
            *User.objects.filter(memberships__organization=organization).values_list(
                "full_name", flat=True
            ),
            *TouchpointType.objects.values_list("name", flat=True),
            *Account.objects.values_list("name", flat=True),
            *Response.objects.exclude(comment="").values_list("comment", flat=True),
            *Benchmark.objects.exclude(source="").values_list("source", flat=True),
            *Survey.objects.values_list("name", flat=True),
            *Campaign.objects.values_list("name", flat=True),
            *Segment.objects.values_list("name", flat=True),
            *Playbook.objects.values_list("custom_name", flat=True),
            *Playbook.objects.values_list("custom_task_title", flat=True),
        ]
    return sorted({t for t in typed if t}, key=len, reverse=True)
