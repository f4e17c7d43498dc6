"""Signals and hooks other apps listen to (they may depend on accounts; accounts never
on them). Each carries plain values (ids, dates, numbers), never a model of the app
that sends it, so a listener needs nothing from the sender's app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

# Subscriptions changed in the current tenant: MRR from month(`since`) on may differ.
# Sent inside the writing transaction, with `since` (a date) and `accounts`: the ids of
# the accounts whose subscriptions changed (None when unknown).
revenue_changed = Signal()

# A new organization was created (accounts.services.organization_create), inside the
# creating transaction, with `organization`. The apps above give it their defaults
# here, so that no page has to create them on its first GET.
organization_created = Signal()


# --- erasure hooks (accounts.privacy) --------------------------------------------------

# A person is being erased from the current tenant (accounts.privacy.contact_erase),
# inside its transaction and before the contact rows are deleted. Sent with
# `contact_ids` (list[int]: every contact with the person's email), `email`
# (normalized) and `names` (set[str]: the full names the free-text sweep redacts).
# Each app erases or anonymizes its own rows of those contacts and returns what it
# did: {kind: count}, merged into the erasure's `removed`.
contact_erasing = Signal()

# The confirmation page asks what erasing `contact_ids` (list[int]) would touch: each
# app returns {kind: count} of its own rows, merged into the preview.
contact_erasure_previewing = Signal()


# --- survey feedback (sent by surveys, for apps that must not import it) --------------


@dataclass(frozen=True)
class Feedback:
    """A survey response as plain values: what an app needs to react to it."""

    response_id: int
    account_id: int
    contact_id: int | None
    responded_at: datetime
    kind: str  # the survey kind's value: "nps", "csat" or "ces"
    score: int
    # A detractor, a dissatisfied customer or a hard effort (surveys.models.is_negative).
    negative: bool


# Survey responses of the current tenant were given or edited: `feedback`, a list of
# Feedback with their values after the write. Sent inside the writing transaction.
feedback_recorded = Signal()

# Survey responses of the current tenant that were negative no longer are: withdrawn
# (deleted) or edited to a better score. Sent inside the writing transaction with
# `response_ids` (list[int]).
feedback_withdrawn = Signal()


# --- saved segments (accounts.segment_services) ----------------------------------------

# A saved segment is about to be deleted: sent with `segment_id` (int). Each app returns
# the names of its objects that use the segment (list[str]: a campaign's audience, …);
# any name refuses the deletion.
segment_in_use = Signal()


# --- imports (accounts.audit.audit_import) ---------------------------------------------

# A CSV import wrote its rows (page or command), inside its transaction: sent with `kind`
# (str). A file may carry history (past subscriptions, usage, answers), so what was
# computed as of past days is computed again (metrics: the health history).
import_completed = Signal()
