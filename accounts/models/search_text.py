"""The SQL expressions search reads and indexes (accounts.search): written once, so the
queries and the indexes of migration 0018 name exactly the same expression, which is
what lets Postgres use the index.

`csp_search_text(text)` is lower(unaccent(text)), declared IMMUTABLE by that migration
(contrib's own `unaccent(text)` is only STABLE, since its dictionary could change, so
it cannot be indexed directly).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models


class SearchText(models.Func):
    """SQL: the text folded for search, lower case and without accents ("São" → "sao")."""

    function = "csp_search_text"
    output_field = models.TextField()


class SearchWords(models.Func):
    """SQL: the folded text's words as a full-text vector, with the 'simple' configuration
    (no stemming and no stop words: names are not prose, and "de" or "da" must match)."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()
