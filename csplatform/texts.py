"""Text the application writes for people to read later is stored as a key and its
parameters, never as a sentence: the sentence is rendered when it is read, in the
reader's language (docs/i18n.md).

A task's title and reason, a default playbook's name and task title, a default
benchmark's label and note: written by the application in one language, read by
people in another. Each such attribute is a `stored_text` property over three
columns: a key (`…_key`), its parameters (a JSON object, when the sentence has any)
and the text a person typed (`custom_…`). A row holds either a key or typed text,
never both (a check constraint on each table).

The module that writes a key defines its sentence here once (`message_define`), at
import time; its app's ready() imports it, so every reader can render every key.
A parameter's stored value is language-neutral (a date as YYYY-MM-DD, a number, a
choice's value); a choice is rendered through its labels, in the reader's language.

A `Phrase` is the same rule for sentences that are not named by a key: an English
msgid and its parameters, kept as JSON (`to_json`) and rendered when read (`str`).
The CSV import's errors and warnings are phrases, stored with an upload's check.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext


@dataclass(frozen=True)
class Message:
    """A sentence (an English msgid with `%(name)s` placeholders) and, for parameters
    that hold a choice, the label of each stored value (lazy: translated when read)."""

    text: str
    choices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


_MESSAGES: dict[str, Message] = {}

type PhraseParam = str | int | float | Phrase


@dataclass(frozen=True)
class Phrase:
    """A sentence to render later, in the reader's language: an English `msgid` with
    `%(name)s` placeholders, its `params` (text, numbers, or phrases rendered in the same
    language, such as what a refused cell expected) and, for a sentence with plural
    forms, its `plural` msgid and the `count` that picks the form (ngettext).

    Mark the msgid where the phrase is made, so makemessages extracts it:
    `Phrase(gettext_noop("…"), {…})`, or `Phrase.ngettext("…", "…", count, {…})`.
    A parameter is stored as JSON: a day becomes YYYY-MM-DD, a Decimal its digits,
    numbers from numpy plain ints and floats; lazily translated text (which would be
    rendered in the writer's language) and objects JSON cannot hold are refused here,
    where the phrase is made."""

    msgid: str
    params: Mapping[str, PhraseParam] = field(default_factory=dict)
    plural: str = ""
    count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "params", {name: _param(name, value) for name, value in self.params.items()}
        )
        if self.plural and self.count is None:
            raise TypeError(f"The plural phrase {self.msgid!r} needs a count.")

    @classmethod
    def ngettext(
        cls, singular: str, plural: str, count: int, params: Mapping[str, PhraseParam] | None = None
    ) -> Phrase:
        """A phrase with plural forms (named so that makemessages extracts both msgids)."""
        return cls(singular, params or {}, plural=plural, count=int(count))

    def __str__(self) -> str:
        if self.plural:
            text = ngettext(self.msgid, self.plural, self.count or 0)
        else:
            text = gettext(self.msgid)
        if not self.params:  # a sentence without parameters may hold a literal "%"
            return text
        return text % {
            name: str(value) if isinstance(value, Phrase) else value
            for name, value in self.params.items()
        }

    def to_json(self) -> dict[str, Any]:
        """The phrase as a JSON object: msgid, and params, plural, count when it has them."""
        data: dict[str, Any] = {"msgid": self.msgid}
        if self.params:
            data["params"] = {
                name: value.to_json() if isinstance(value, Phrase) else value
                for name, value in self.params.items()
            }
        if self.plural:
            data["plural"] = self.plural
            data["count"] = self.count
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Phrase:
        """The phrase `to_json` made (a parameter that is an object is a phrase)."""
        return cls(
            data["msgid"],
            {
                name: cls.from_json(value) if isinstance(value, Mapping) else value
                for name, value in (data.get("params") or {}).items()
            },
            plural=data.get("plural", ""),
            count=data.get("count"),
        )


def _param(name: str, value: Any) -> PhraseParam:
    if isinstance(value, Promise):  # lazy text would be stored in the writer's language
        raise TypeError(
            f"The phrase parameter {name!r} is lazily translated text: pass a Phrase of its "
            "msgid instead."
        )
    if isinstance(value, Phrase | str):
        return value
    if isinstance(value, date):  # a datetime too: language-neutral, as ISO 8601
        return value.isoformat()
    if isinstance(value, Decimal):  # as written, every digit kept
        return str(value)
    if isinstance(value, bool):  # a bool is an Integral: say which, not 0 or 1
        return str(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(
        f"The phrase parameter {name!r} is a {type(value).__name__}: pass text, a number "
        "or a Phrase."
    )


def phrase_render(stored: Any) -> str:
    """A stored phrase (its JSON) in the active language; anything else, such as a
    sentence stored before phrases were, is shown as it is."""
    if isinstance(stored, Mapping) and "msgid" in stored:
        return str(Phrase.from_json(stored))
    return str(stored)


def phrase_json(message: Phrase | str) -> dict[str, Any] | str:
    """What to store of `message`: a phrase's JSON, or text as it is."""
    return message.to_json() if isinstance(message, Phrase) else str(message)


def message_define(key: str, text: str, **choices: Mapping[str, Any]) -> str:
    """Name the sentence `text` (marked for translation where it is written) `key`;
    `choices` gives, per parameter holding a choice, each value's label. Returns `key`.

    A key names one sentence for good: stored rows hold it. Defining it again with
    another sentence is a bug, and raises."""
    message = Message(text, choices)
    if _MESSAGES.setdefault(key, message) != message:
        raise ValueError(f"The stored-text key {key!r} names another sentence already.")
    return key


def message_render(key: str, params: Mapping[str, Any] | None = None) -> str:
    """The sentence `key` names, with `params`, in the active language. A key this
    version does not know (written by a newer one) is shown as it is."""
    message = _MESSAGES.get(key)
    if message is None:
        return key
    if not params:  # a sentence without parameters may hold a literal "%"
        return gettext(message.text)
    values = {
        name: str(message.choices[name].get(value, value)) if name in message.choices else value
        for name, value in params.items()
    }
    return gettext(message.text) % values


def stored_text(*, key: str, custom: str, params: str | None = None) -> property:
    """A model attribute read as the sentence of the row's key (column `key`, with the
    JSON parameters of column `params`) in the reader's language, or else as the typed
    text of column `custom`.

    Setting it stores typed text and clears the key, except that setting the very
    sentence the row shows keeps the key (a form saved without touching the field)."""

    def read(instance: Any) -> str:
        stored_key: str = getattr(instance, key)
        if stored_key:
            return message_render(stored_key, getattr(instance, params) if params else None)
        text: str = getattr(instance, custom)
        return text

    def write(instance: Any, value: str) -> None:
        if getattr(instance, key) and value == read(instance):
            return
        setattr(instance, custom, value)
        setattr(instance, key, "")
        if params:
            setattr(instance, params, {})

    return property(read, write)


def key_or_text(*, key: str, text: str, name: str) -> models.CheckConstraint:
    """The check constraint of a `stored_text` attribute: a key or typed text, not both."""
    return models.CheckConstraint(
        condition=models.Q(**{key: ""}) | models.Q(**{text: ""}), name=name
    )


def sentences_to_keys(
    rows: Iterable[Any], *fields: tuple[str, str, Mapping[str, str]]
) -> list[Any]:
    """For a data migration from stored sentences: on each of `rows`, for each (key
    column, text column, sentence → key) of `fields`, a text that is one of the
    sentences becomes its key (and the text is emptied); other text stays. Returns the
    rows changed."""
    changed = []
    for row in rows:
        found = False
        for key_field, text_field, keys in fields:
            key = keys.get(getattr(row, text_field))
            if key:
                setattr(row, key_field, key)
                setattr(row, text_field, "")
                found = True
        if found:
            changed.append(row)
    return changed


class StoredTextModelForm(forms.ModelForm):
    """A ModelForm whose `stored_text_fields` are `stored_text` attributes declared as
    form fields: shows each as its reader sees it, and saves what was typed (the key
    stays when the text was left as it was)."""

    stored_text_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in self.stored_text_fields:
                self.initial.setdefault(name, getattr(self.instance, name))

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # Before the model's own validation (unique and check constraints) sees it.
        for name in self.stored_text_fields:
            if name in cleaned:
                setattr(self.instance, name, cleaned[name])
        return cleaned
