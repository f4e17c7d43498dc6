"""A Phrase: a sentence kept as its English msgid and parameters, rendered in the
reader's language when it is read (csplatform.texts, docs/i18n.md)."""

import json

import pytest
from django.utils import translation
from django.utils.translation import gettext_noop

from csplatform.texts import Phrase, phrase_render


def _invalid_email() -> Phrase:
    return Phrase(
        gettext_noop("%(value)s is not valid: expected %(expected)s."),
        {
            "value": "ana@",
            "expected": Phrase(gettext_noop("an email address such as ana@empresa.com.br")),
        },
    )


def test_it_renders_a_phrase_in_the_active_language():
    phrase = _invalid_email()
    with translation.override("en"):
        assert str(phrase) == (
            "ana@ is not valid: expected an email address such as ana@empresa.com.br."
        )
    with translation.override("pt-br"):
        assert str(phrase) == (
            "ana@ não é válido; esperado: um endereço de e-mail como ana@empresa.com.br."
        )


def test_it_round_trips_a_phrase_through_json():
    phrase = _invalid_email()
    stored = json.loads(json.dumps(phrase.to_json()))
    assert stored == {
        "msgid": "%(value)s is not valid: expected %(expected)s.",
        "params": {
            "value": "ana@",
            "expected": {"msgid": "an email address such as ana@empresa.com.br"},
        },
    }
    assert Phrase.from_json(stored) == phrase


def test_it_renders_plural_forms_and_keeps_them_through_json():
    one = Phrase.ngettext("Checking %(rows)s row…", "Checking %(rows)s rows…", 1, {"rows": 1})
    many = Phrase.ngettext("Checking %(rows)s row…", "Checking %(rows)s rows…", 3, {"rows": 3})
    with translation.override("en"):
        assert (str(one), str(many)) == ("Checking 1 row…", "Checking 3 rows…")
    with translation.override("pt-br"):
        assert (str(one), str(many)) == ("Verificando 1 linha…", "Verificando 3 linhas…")
        assert str(Phrase.from_json(json.loads(json.dumps(many.to_json())))) == (
            "Verificando 3 linhas…"
        )


def test_it_shows_a_plain_stored_string_as_it_is():
    with translation.override("pt-br"):
        assert phrase_render("line 2: something went wrong") == "line 2: something went wrong"
        assert phrase_render(_invalid_email().to_json()).startswith("ana@ não é válido")


def test_it_keeps_numbers_from_pandas_as_plain_json_numbers():
    import numpy as np

    phrase = Phrase(gettext_noop("This value is required."), {"length": np.int64(7)})
    assert json.dumps(phrase.to_json()) == (
        '{"msgid": "This value is required.", "params": {"length": 7}}'
    )


def test_it_refuses_a_lazily_translated_parameter_and_what_json_cannot_hold():
    from django.utils.translation import gettext_lazy

    with pytest.raises(TypeError, match="kind"):
        Phrase(gettext_noop("This value is required."), {"kind": gettext_lazy("accounts")})
    with pytest.raises(TypeError, match="rows"):
        Phrase(gettext_noop("This value is required."), {"rows": [1, 2]})


def test_it_keeps_days_and_decimals_language_neutral():
    from datetime import date
    from decimal import Decimal

    phrase = Phrase(
        gettext_noop("This value is required."), {"day": date(2026, 1, 31), "n": Decimal("1.50")}
    )
    assert phrase.to_json()["params"] == {"day": "2026-01-31", "n": "1.50"}
