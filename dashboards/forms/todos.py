from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from csplatform.texts import StoredTextModelForm
from journeys.models import Playbook, PlaybookTrigger
from metrics.playbooks import DAYS_REQUIRED, DEFAULT_DAYS

SNOOZE_DAYS = 3  # the snooze form's default
MAX_SNOOZE_DAYS = 365
MAX_PLAYBOOK_DAYS = 730


class TodoFilterForm(forms.Form):
    """The task list's filters (a GET form). Invalid values fall back to the defaults."""

    STATUSES = [("open", _("Open")), ("snoozed", _("Snoozed")), ("done", _("Done"))]

    assignee = forms.ChoiceField(label=_("Assigned to"), required=False)
    status = forms.ChoiceField(label=_("Show"), choices=STATUSES, required=False)

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("me", _("Me")),
            ("all", _("Everyone")),
            ("none", _("Nobody")),
            *[(str(pk), label) for pk, label in members],
        ]

    def value(self, name: str, default: str) -> str:
        if not self.is_bound or not self.is_valid():
            return default
        return self.cleaned_data.get(name) or default


class SnoozeForm(forms.Form):
    until = forms.DateField(label=_("Snooze until"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self) -> date:
        until: date = self.cleaned_data["until"]
        if until <= self.today:
            raise forms.ValidationError(_("Snooze until a day after today."))
        if until > self.today + timedelta(days=MAX_SNOOZE_DAYS):
            raise forms.ValidationError(
                _("Snooze for at most %(days)s days."), params={"days": MAX_SNOOZE_DAYS}
            )
        return until


class PlaybookForm(StoredTextModelForm):
    stored_text_fields = ("name", "task_title")
    name = Playbook._meta.get_field("custom_name").formfield(required=True)
    task_title = Playbook._meta.get_field("custom_task_title").formfield(required=True)
    days = forms.IntegerField(
        label=_("Days"),
        required=False,
        min_value=1,
        max_value=MAX_PLAYBOOK_DAYS,
        help_text=_(
            "Renewal within N days, no activity for N days, time to value overdue after "
            "N days: required. Detractor response: a response within the last N days "
            "(7 when empty). Health band drops and triad flags take none."
        ),
    )

    class Meta:
        model = Playbook
        fields = ["name", "trigger", "days", "task_title", "due_in_days", "email_assignee"]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        # The constraint is per organization, which is not a field of the form.
        if any(p.name == name for p in Playbook.objects.exclude(pk=self.instance.pk)):
            raise forms.ValidationError(
                _("A playbook named “%(name)s” exists already."), params={"name": name}
            )
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        trigger = cleaned.get("trigger")
        days = cleaned.get("days")
        if trigger in DAYS_REQUIRED and days is None and "days" not in self.errors:
            self.add_error(
                "days",
                _("“%(rule)s” needs a number of days (for example %(example)s).")
                % {
                    "rule": PlaybookTrigger(trigger).label,
                    "example": DEFAULT_DAYS[PlaybookTrigger(trigger)],
                },
            )
        elif trigger in {PlaybookTrigger.BAND_DROP, PlaybookTrigger.TRIAD} and days is not None:
            self.add_error(
                "days",
                _("“%(rule)s” takes no number of days: leave it empty.")
                % {"rule": PlaybookTrigger(trigger).label},
            )
        return cleaned
