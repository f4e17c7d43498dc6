"""The accounts list's filters: a GET form, so a filtered list is a shareable address.
The same form is the segment builder's (dashboards.views.segments): its values become a
segment's stored filters (accounts.segments), and a segment's filters become its GET
parameters again (`filters_query`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.segments import (
    CUSTOMER,
    FORMER_CUSTOMER,
    MAX_SEARCH_LENGTH,
    NEVER_CUSTOMER,
    filters_clean,
)
from metrics.health.scoring import FLAG_ENGAGED_NO_RESULTS, FLAG_HAPPY_UNENGAGED
from metrics.models import HealthBand
from metrics.portfolio_selectors import NO_OWNER, NO_SCORE, NO_STAGE, AccountFilters

# Monthly plans have no renewal to plan; annual ones are planned half a year to a year
# ahead. A saved segment may hold any window of 1–366 days (accounts.segments).
RENEWAL_WINDOWS = [30, 60, 90, 120, 180, 365]

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
    customer = forms.ChoiceField(label=_("Customer"), required=False)
    mrr_min = forms.DecimalField(
        label=_("MRR from"), required=False, min_value=0, decimal_places=2, max_digits=15
    )
    mrr_max = forms.DecimalField(
        label=_("MRR up to"), required=False, min_value=0, decimal_places=2, max_digits=15
    )
    q = forms.CharField(
        label=_("Search"),
        help_text=_("As the search box: account names and ids, contacts' names and emails."),
        required=False,
        max_length=MAX_SEARCH_LENGTH,
    )
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

        self._choices(
            "customer",
            [
                ("", _("Any")),
                (CUSTOMER, _("Customers")),
                (FORMER_CUSTOMER, _("Former customers")),
                (NEVER_CUSTOMER, _("Never customers")),
            ],
        )
        for name in ("mrr_min", "mrr_max"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "step": "0.01"})
        self.fields["q"].widget.attrs.update({"type": "search"})

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        self.fields[name].choices = choices  # type: ignore[attr-defined]

    def _raw_filters(self) -> dict[str, Any]:
        """The valid fields as segment filter values (MRR in cents), before
        accounts.segments.filters_clean."""
        if not self.is_bound:
            return {}
        self.is_valid()  # fills cleaned_data with the fields that are valid
        data = self.cleaned_data
        raw: dict[str, Any] = {
            key: str(data.get(key) or "")
            for key in ("owner", "segment", "stage", "band", "flag", "customer", "q")
        }
        raw["renewal_days"] = data.get("renewal") or ""
        for name in ("mrr_min", "mrr_max"):
            amount = data.get(name)
            raw[f"{name}_cents"] = "" if amount is None else int(amount * 100)
        return raw

    def segment_filters(self) -> dict[str, Any]:
        """The filters as a segment stores them; a bad value is a form error on its
        field (ValidationError when any)."""
        if self.is_bound and not self.is_valid():
            raise ValidationError(_("Correct the filters marked below."))
        try:
            return filters_clean(self._raw_filters())
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                field = FIELD_OF_FILTER.get(key)
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
            raise

    def filters(self) -> AccountFilters:
        """The valid values as the list's filters (an invalid one is dropped: an edited
        or stale address still shows a list)."""
        raw = self._raw_filters()
        try:
            values = filters_clean(raw)
        except ValidationError as error:
            bad = set(error.message_dict)
            if "mrr_max_cents" in bad:  # perhaps a range upside down: neither bound holds
                bad.add("mrr_min_cents")
            values = filters_clean({k: v for k, v in raw.items() if k not in bad})
        sort = str(self.cleaned_data.get("sort") or "") if self.is_bound else ""
        return AccountFilters(values=values, sort=sort or "name")


# A stored filter key -> the form field (and GET parameter) that holds it.
FIELD_OF_FILTER = {
    "owner": "owner",
    "segment": "segment",
    "stage": "stage",
    "band": "band",
    "flag": "flag",
    "customer": "customer",
    "q": "q",
    "renewal_days": "renewal",
    "mrr_min_cents": "mrr_min",
    "mrr_max_cents": "mrr_max",
}


def filters_params(values: dict[str, Any]) -> dict[str, str]:
    """A segment's stored filters as the accounts list's GET parameters (MRR in units)."""
    params = {}
    for key, value in values.items():
        field = FIELD_OF_FILTER.get(key, key)
        if key.endswith("_cents"):
            params[field] = _units(int(value))
        else:
            params[field] = str(value)
    return params


def filters_query(values: dict[str, Any]) -> str:
    """The stored filters as a query string (without the sort and the page)."""
    return urlencode(filters_params(values))


def _units(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}".removesuffix(".00")
