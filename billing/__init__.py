"""Billing connectors: an organization's billing system (Stripe) feeding its accounts and
subscription history (docs/integrations.md). Sits beside surveys and journeys, above
accounts: it writes accounts and subscriptions through accounts' services and never
imports metrics (a recompute follows the accounts' signals)."""
