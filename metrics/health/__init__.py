"""Engagement, adoption, time to value and the health score (METRICS.md, Engagement,
adoption, value; Health; the choices are in docs/metrics.md).

Everything is computed "as of" a day D (the organization's time zone), from data
up to the end of D: the daily usage rollups (never the raw events), survey
responses, negative touchpoints, value milestones and subscriptions. A customer
is an account with a subscription active on D.

The package follows the computation's seams; import a name from the module that
defines it (this package re-exports nothing):

- `model`: the organization's health model (settings as stored, read and updated)
  and `Model`, the frozen part the computation takes;
- `inputs`: the loaders (`health_inputs`), a fixed number of queries per as-of
  day, each returning at most a row per account;
- `scoring`: the computation (`health_components`, `health_scores`,
  `triad_flags`, time to value), whole-frame pandas, pure, and what the tests
  check against hand-computed tables;
- `store`: `health_recompute`, which writes the day's snapshot.

The back-test (metrics.backtest) evaluates past days with the same inputs and
scoring; the reads the pages share are in metrics.health_selectors.
"""
