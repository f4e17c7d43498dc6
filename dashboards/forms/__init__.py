"""The forms of the pages, one module per page family (as dashboards/views/)."""

from __future__ import annotations

from typing import Any

from django import forms


def form_changes(form: forms.BaseForm) -> dict[str, dict[str, Any]]:
    """What a bound, valid form changes, for the audit log: each changed field's initial
    (`old`) and cleaned (`new`) value."""
    return {
        field: {"old": form.initial.get(field), "new": form.cleaned_data.get(field)}
        for field in form.changed_data
    }
