"""Finding an account: one read over accounts and their contacts (docs/search.md).

A query matches an account by its name or external id, or through one of its
contacts' names or emails. Text is folded on both sides by `csp_search_text` (lower
case, no accents: "sao" finds "São"); the folded columns are stored beside the rows
(Account.search_*, Contact.search_*). An account is found when the query is

- its name or external id (exact),
- the start of its name or external id (prefix: three letters find it),
- the start of each of the query's words in its name, in any order (full text),
- a part of the name or id, or the start of an email (any part of it when the
  query has an "@"), or
- close to a part of the account's name (trigram word similarity: "acme corporaton"
  finds "Acme Corporation"), for queries of SIMILAR_MIN_CHARS characters or more.

Results are ranked by that order (the best tier among the account and its contacts,
an account's own match before a contact's of the same tier), then by trigram word
similarity to the name, then by name. The tenant manager and row-level security keep
the read inside the current organization.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from django.contrib.postgres.search import SearchQuery
from django.db import connection, models
from django.db.models import Case, F, Q, QuerySet, Value, When

from accounts.models import Account, Contact

MAX_QUERY_CHARS = 200  # longer queries are cut: no name is longer, and no query is slow
MIN_QUERY_CHARS = 2  # letters or digits; fewer would match nearly everything
SIMILAR_MIN_CHARS = 4  # typo tolerance below that finds noise (and prefixes do better)
MAX_QUERY_WORDS = 8  # words in the full-text query
MAX_RESULTS = 200  # ranked hits kept; past that, the reader types more
TYPEAHEAD_LIMIT = 8

# A match's tier: lower ranks first.
EXACT, PREFIX, WORDS, PART, SIMILAR = 0, 1, 2, 3, 4
CONTACT_PENALTY = 0.5  # a contact's match ranks after the account's own of the same tier

_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class SearchQueryText:
    """A query as typed, made safe to search with."""

    text: str  # trimmed, spaces collapsed, cut to MAX_QUERY_CHARS
    was_cut: bool  # longer than MAX_QUERY_CHARS before the cut

    @property
    def is_searchable(self) -> bool:
        """Enough letters or digits to search with (punctuation alone is not)."""
        return sum(c.isalnum() for c in self.text) >= MIN_QUERY_CHARS


def search_query_clean(raw: str | None) -> SearchQueryText:
    """The query as typed, trimmed, its runs of spaces made one, cut to MAX_QUERY_CHARS."""
    text = _SPACES.sub(" ", raw or "").strip()
    was_cut = len(text) > MAX_QUERY_CHARS
    return SearchQueryText(text=text[:MAX_QUERY_CHARS].strip(), was_cut=was_cut)


def _folded(text: str) -> str:
    """The query folded as the stored columns are (by the same SQL function)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT csp_search_text(%s)", [text])
        row = cursor.fetchone()
    return row[0] if row else ""


def _prefix_tsquery(folded: str) -> str:
    """A raw tsquery: each word of the query as a quoted prefix (`'sao':* & 'pau':*`).
    The words are runs of \\w, so no quote or operator of tsquery's syntax gets in."""
    words = _WORDS.findall(folded)[:MAX_QUERY_WORDS]
    return " & ".join(f"'{word}':*" for word in words)


class _WordSimilarity(models.Func):
    """SQL: word_similarity(query, text), 0–1: how close the query is to a part of text."""

    function = "word_similarity"
    output_field = models.FloatField()


class _Operator(models.Func):
    """SQL: a boolean `a <op> b` (pg_trgm's `%>`, full text's `@@`)."""

    output_field = models.BooleanField()

    def __init__(self, left: object, operator: str, right: object) -> None:
        super().__init__(left, right, template="(%(expressions)s)", arg_joiner=f" {operator} ")


def _matches(
    folded: str, tsquery: str, *, name: str, code: str, penalty: float, code_parts: bool = True
) -> tuple[Q, Case]:
    """For one model's folded `name` and `code` (external id or email) columns and its
    `search_words`: the predicate of a direct match (all but similarity), and its tier.
    Without `code_parts`, the code matches by its start only."""
    exact = Q(**{name: folded}) | Q(**{code: folded})
    starts = Q(**{f"{name}__startswith": folded}) | Q(**{f"{code}__startswith": folded})
    part = Q(**{f"{name}__contains": folded}) | Q(
        **{f"{code}__contains" if code_parts else f"{code}__startswith": folded}
    )
    whens = [
        When(exact, then=Value(EXACT + penalty)),
        When(starts, then=Value(PREFIX + penalty)),
    ]
    match = part  # exact and prefix matches are parts too
    if tsquery:
        words = Q(
            _Operator(
                F("search_words"), "@@", SearchQuery(tsquery, search_type="raw", config="simple")
            )
        )
        whens.append(When(words, then=Value(WORDS + penalty)))
        match |= words
    whens.append(When(part, then=Value(PART + penalty)))
    return match, Case(*whens, default=Value(float(SIMILAR)), output_field=models.FloatField())


_HIT = ("hit_account", "hit_contact", "hit_tier", "hit_similarity", "hit_name")
_RANK = ("hit_tier", "-hit_similarity", "hit_name", "hit_account", "hit_contact")


def _direct_hits(folded: str, tsquery: str) -> QuerySet:
    """Every direct match, as rows (account id, contact id or None, tier, similarity,
    name), best first: the accounts' own matches and their contacts' in one query."""
    account_match, account_tier = _matches(
        folded, tsquery, name="search_name", code="search_code", penalty=0
    )
    contact_match, contact_tier = _matches(
        folded,
        tsquery,
        name="search_name",
        code="search_email",
        penalty=CONTACT_PENALTY,
        # An email's middle ("com", "example") is in every email: it matches a part
        # only when the query is one of an email ("@acme.com"), else by its start.
        code_parts="@" in folded,
    )
    accounts = (
        Account.objects.filter(account_match)
        .annotate(
            hit_account=F("pk"),
            hit_contact=Value(None, output_field=models.BigIntegerField()),
            hit_tier=account_tier,
            hit_similarity=_WordSimilarity(Value(folded), F("search_name")),
            hit_name=F("name"),
        )
        .values_list(*_HIT)
    )
    contacts = (
        Contact.objects.filter(contact_match)
        .annotate(
            hit_account=F("account_id"),
            hit_contact=F("pk"),
            hit_tier=contact_tier,
            hit_similarity=_WordSimilarity(Value(folded), F("account__search_name")),
            hit_name=F("account__name"),
        )
        .values_list(*_HIT)
    )
    return accounts.union(contacts, all=True).order_by(*_RANK)


def _similar_hits(folded: str) -> QuerySet:
    """The accounts whose name is close to the query (trigram word similarity), as
    `_direct_hits`' rows, most similar first. People's names and emails are matched
    directly only: no guessing at a person."""
    return (
        Account.objects.filter(_Operator(F("search_name"), "%%>", Value(folded)))
        .annotate(
            hit_account=F("pk"),
            hit_contact=Value(None, output_field=models.BigIntegerField()),
            hit_tier=Value(float(SIMILAR)),
            hit_similarity=_WordSimilarity(Value(folded), F("search_name")),
            hit_name=F("name"),
        )
        .values_list(*_HIT)
        .order_by(*_RANK)
    )


@dataclass(frozen=True)
class SearchHit:
    account_id: int
    contact_id: int | None  # the contact that matched, when it matched better than the account
    tier: float


class AccountSearchResults(Sequence[Account]):
    """The ranked accounts of one search; an account (and its matched contact) is read
    only when its slice is: a paginator's page, or the type-ahead's first few."""

    def __init__(self, hits: list[SearchHit]) -> None:
        self.hits = hits

    def __len__(self) -> int:
        return len(self.hits)

    @overload
    def __getitem__(self, index: int) -> Account: ...
    @overload
    def __getitem__(self, index: slice) -> list[Account]: ...
    def __getitem__(self, index: int | slice) -> Account | list[Account]:
        if isinstance(index, slice):
            return _accounts_of(self.hits[index])
        return _accounts_of([self.hits[index]])[0]

    def __iter__(self) -> Iterator[Account]:
        return iter(self[:])


def _accounts_of(hits: list[SearchHit]) -> list[Account]:
    """The hits' accounts in order, each with `matched_contact` (a Contact or None) and
    `search_tier`: two queries."""
    if not hits:
        return []
    accounts = Account.objects.select_related("owner").in_bulk([h.account_id for h in hits])
    contact_ids = [h.contact_id for h in hits if h.contact_id]
    contacts = Contact.objects.in_bulk(contact_ids) if contact_ids else {}
    found = []
    for hit in hits:
        account = accounts[hit.account_id]
        account.matched_contact = contacts.get(hit.contact_id) if hit.contact_id else None
        account.search_tier = hit.tier
        found.append(account)
    return found


def accounts_matching(query: str) -> QuerySet[Account]:
    """Every account of the current organization that `account_search` finds for
    `query`, unranked: the accounts list's and a saved segment's text filter. The same
    matches (the account's own, a contact's, a similar name), so a segment and the
    search box never disagree; an unsearchable query matches nothing."""
    cleaned = search_query_clean(query)
    if not cleaned.is_searchable:
        return Account.objects.none()
    folded = _folded(cleaned.text)
    tsquery = _prefix_tsquery(folded)
    own, _tier = _matches(folded, tsquery, name="search_name", code="search_code", penalty=0)
    of_contact, _tier = _matches(
        folded,
        tsquery,
        name="search_name",
        code="search_email",
        penalty=CONTACT_PENALTY,
        code_parts="@" in folded,
    )
    match = own | Q(pk__in=Contact.objects.filter(of_contact).values("account_id"))
    if len(folded) >= SIMILAR_MIN_CHARS:
        match |= Q(_Operator(F("search_name"), "%%>", Value(folded)))
    return Account.objects.filter(match)


def account_search(query: str, limit: int | None = None) -> AccountSearchResults:
    """The current organization's accounts that match `query`, best first, at most
    `limit` (or MAX_RESULTS) of them.

    `query` is cleaned here (search_query_clean); one without two letters or digits
    finds nothing. Each account is listed once, at its best match: its own, or its
    best contact's (then `matched_contact` names that contact).
    """
    cleaned = search_query_clean(query)
    if not cleaned.is_searchable:
        return AccountSearchResults([])
    folded = _folded(cleaned.text)
    cap = min(limit or MAX_RESULTS, MAX_RESULTS)
    hits: list[SearchHit] = []
    seen: set[int] = set()
    # Similarity is the costly test (trigrams of every name): it runs only when the
    # direct matches leave room, which changes nothing in the order, since a
    # similar-only match ranks after every direct one.
    phases = [_direct_hits(folded, _prefix_tsquery(folded))]
    if len(folded) >= SIMILAR_MIN_CHARS:
        phases.append(_similar_hits(folded))
    for rows in phases:
        if len(hits) == cap:
            break
        # Ranked rows, an account's several matches (its own, its contacts') a row
        # each: keep each account's first. Read lazily, in chunks, up to the cap.
        for account_id, contact_id, tier, _similarity, _name in rows.iterator(chunk_size=cap * 4):
            if account_id in seen:
                continue
            seen.add(account_id)
            hits.append(SearchHit(account_id, contact_id, tier))
            if len(hits) == cap:
                break
    return AccountSearchResults(hits)
