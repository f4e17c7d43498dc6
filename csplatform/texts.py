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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext


@dataclass(frozen=True)
class Message:
    """A sentence (an English msgid with `%(name)s` placeholders) and, for parameters
    that hold a choice, the label of each stored value (lazy: translated when read)."""

    text: str
    choices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


_MESSAGES: dict[str, Message] = {}


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
