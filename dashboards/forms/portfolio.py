"""The accounts list's filters: a GET form, so a filtered list is a shareable address."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from metrics.health.scoring import FLAG_ENGAGED_NO_RESULTS, FLAG_HAPPY_UNENGAGED
from metrics.models import HealthBand
from metrics.portfolio_selectors import NO_OWNER, NO_SCORE, NO_STAGE, AccountFilters

RENEWAL_WINDOWS = [30, 60, 90]

SORT_CHOICES = [
    ("name", _("Name, A to Z")),
    ("-name", _("Name, Z to A")),
    ("-mrr", _("MRR, highest first")),
    ("mrr", _("MRR, lowest first")),
    ("score", _("Health score, lowest first")),
    ("-score", _("Health score, highest first")),
    ("renewal", _("Next renewal, soonest first")),
    ("-renewal", _("Next renewal, latest first")),
]


class AccountFilterForm(forms.Form):
    """Every field is optional; a value that is not a choice is ignored (that filter
    falls back to "any"), so an edited or stale address still shows a list."""

    owner = forms.ChoiceField(label=pgettext_lazy("account owner", "Owner"), required=False)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    band = forms.ChoiceField(label=_("Health"), required=False)
    renewal = forms.ChoiceField(label=_("Renews"), required=False)
    flag = forms.ChoiceField(label=_("Triad"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        members: list[tuple[int, str]],
        segments: list[str],
        stages: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._choices(
            "owner",
            [
                ("", _("Anyone")),
                ("me", _("Me")),
                (NO_OWNER, _("Nobody")),
                *[(str(pk), name) for pk, name in members],
            ],
        )
        self._choices("segment", [("", _("Any segment")), *[(s, s) for s in segments]])
        self._choices("stage", [("", _("Any stage")), *stages, (NO_STAGE, _("No stage"))])
        self._choices(
            "band", [("", _("Any health")), *HealthBand.choices, (NO_SCORE, _("No score"))]
        )
        self._choices(
            "renewal",
            [
                ("", _("Any time")),
                *[
                    (str(days), _("In the next %(days)s days") % {"days": days})
                    for days in RENEWAL_WINDOWS
                ],
            ],
        )
        self._choices(
            "flag",
            [
                ("", _("Any")),
                (FLAG_HAPPY_UNENGAGED, _("May leave smiling")),
                (FLAG_ENGAGED_NO_RESULTS, _("Churn ahead")),
            ],
        )

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        self.fields[name].choices = choices  # type: ignore[attr-defined]

    def _value(self, name: str) -> str:
        if not self.is_bound:
            return ""
        self.is_valid()  # fills cleaned_data with the fields that are valid
        return str(self.cleaned_data.get(name) or "")

    def filters(self) -> AccountFilters:
        """The valid values as filters (invalid ones dropped)."""
        renewal = self._value("renewal")
        return AccountFilters(
            owner=self._value("owner"),
            segment=self._value("segment"),
            stage=self._value("stage"),
            band=self._value("band"),
            renewal_days=int(renewal) if renewal else None,
            flag=self._value("flag"),
            sort=self._value("sort") or "name",
        )
