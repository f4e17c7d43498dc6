"""Signals other apps listen to (they may depend on accounts; accounts never on them)."""

from django.dispatch import Signal

# Subscriptions changed in the current tenant: MRR from month(`since`) on may differ.
# Sent inside the writing transaction, with `since` (a date) and `accounts`: the ids of
# the accounts whose subscriptions changed (None when unknown).
revenue_changed = Signal()

# A new organization was created (accounts.services.organization_create), inside the
# creating transaction, with `organization`. The apps above give it their defaults
# here, so that no page has to create them on its first GET.
organization_created = Signal()
