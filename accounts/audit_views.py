"""The audit log page: the organization's admin actions, newest first, for admins."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.audit import PAGE_SIZE, audit_actor_choices, audit_event_list
from accounts.http import OrganizationRequest
from accounts.models import AuditEvent, Role
from accounts.permissions import admin_required
from csplatform.http import render_page
from csplatform.texts import message_render

# How a key of `details` reads on the page; a key not listed is shown as it is stored.
DETAIL_LABELS = {
    "role": _("role"),
    "old_role": _("old role"),
    "new_role": _("new role"),
    "expires_at": _("expires"),
    "name": _("name"),
    "prefix": _("starts with"),
    "kind": _("kind"),
    "file": _("file"),
    "source": _("from"),
    "rows": _("rows"),
    "created": pgettext_lazy("audit detail", "created"),
    "updated": pgettext_lazy("audit detail", "updated"),
    "unchanged": _("unchanged"),
    "problems": _("problems"),
    "changed": pgettext_lazy("audit detail", "changed"),
    "weights": _("weights"),
    "engagement_weights": _("engagement weights"),
    "healthy_from": _("healthy from"),
    "at_risk_below": _("at risk below"),
    "adoption_threshold": _("adoption threshold"),
    "name_en": _("name (English)"),
    "name_pt_br": _("name (Portuguese)"),
    "moved": pgettext_lazy("audit detail", "moved"),
    "stage": _("stage"),
    "milestone_added": _("milestone added"),
    "milestone_deleted": _("milestone deleted"),
    "core_feature_added": _("core feature added"),
    "core_feature_deleted": _("core feature deleted"),
    "is_active": _("active"),
    "playbooks": _("playbooks"),
    "survey": _("survey"),
    "contacts": _("contacts"),
    "skipped": _("skipped"),
    "channel": pgettext_lazy("audit detail", "through"),
    "removed": _("removed"),
    "files": _("files"),
}
SCALARS = (str, int, float, bool, type(None))
ROLE_LABELS = dict(Role.choices)
SOURCE_LABELS = {"page": _("the import page"), "command": _("the import_csv command")}


class AuditFilterForm(forms.Form):
    """The audit log's filters (a GET form). An invalid value shows everything."""

    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.TypedChoiceField(label=_("Who"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, actors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Every action")), *AuditEvent.Action.choices]  # type: ignore[attr-defined]
        self.fields["actor"].choices = [("", _("Everyone")), *actors]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            "action": self.cleaned_data["action"] or "",
            "actor_id": self.cleaned_data["actor"],
        }


def _detail_value(key: str, value: Any) -> Any:
    if key in {"role", "old_role", "new_role"}:
        return ROLE_LABELS.get(value, value)
    if key == "source":
        return SOURCE_LABELS.get(value, value)
    if key == "changed" and isinstance(value, dict):
        return "; ".join(_change(name, change) for name, change in value.items()) or "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):  # names, or stored-text keys (csplatform.texts)
        return ", ".join(message_render(str(item)) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{DETAIL_LABELS.get(k, k)}: {v}" for k, v in value.items())
    return value


def _change(name: str, change: Any) -> str:
    """`field: old → new` when both are plain values, else the field's name alone."""
    label = str(DETAIL_LABELS.get(name, name))
    if isinstance(change, dict) and set(change) == {"old", "new"}:
        old, new = change["old"], change["new"]
        if isinstance(old, SCALARS) and isinstance(new, SCALARS):
            return f"{label}: {'—' if old is None else old} → {'—' if new is None else new}"
    return label


def detail_rows(event: AuditEvent) -> list[tuple[str, Any]]:
    """The entry's details as (label, value) pairs for the page."""
    return [
        (str(DETAIL_LABELS.get(key, key)), _detail_value(key, value))
        for key, value in event.details.items()
    ]


@admin_required
def audit_log(request: OrganizationRequest, org_slug: str) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, actors=audit_actor_choices())
    filters = form.filters()
    page = Paginator(audit_event_list(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [(event, detail_rows(event)) for event in page],
        "filtered": any(filters.values()),
        "query": query.urlencode(),
    }
    return render_page(request, "accounts/audit_log.html", context, partial="audit-table")
