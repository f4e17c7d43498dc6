"""Cohort retention (logo and revenue) and the sBG projection per cohort (docs/metrics.md).

An account joins the cohort of the period it first became a customer (MRR > 0
at a month end). Its period is its contract's billing interval then (that of
its largest subscription at that month end): monthly and quarterly contracts
form monthly and quarterly cohorts, annual contracts yearly ones. Period t of
an account is the month end t intervals after its first; only complete
months are observed, and a cohort is observed for as many periods as its
latest member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metrics.retention import CannotFit, SbgFit, fit_sbg_many
from metrics.revenue import (
    MONTHS_PER_INTERVAL,
    MrrMatrix,
    month_of,
    months_per_period,
    subscription_mrr,
)

INTERVAL_NAMES = {1: "month", 3: "quarter", 12: "year"}
PROJECTED_PERIODS = 12  # how far ahead the projection goes, in the cohort's periods


@dataclass
class Cohort:
    interval: str  # month, quarter or year
    start: int  # the first month of the cohort's period (months since 1970-01)
    size: int
    starting_mrr: int
    survivors: list[int]  # never churned, at periods 0..n: the sBG input
    logo_retention: list[float]  # share that are customers at each period (returns count)
    revenue_retention: list[float]  # their MRR ÷ the starting MRR
    fit: SbgFit | None = None
    fit_note: str = ""
    projection: list[dict[str, Any]] = field(default_factory=list)
    clv: float | None = None
    clv_low: float | None = None
    clv_high: float | None = None

    @property
    def label(self) -> str:
        when = np.datetime64(self.start, "M").astype(object)
        if self.interval == "year":
            return f"{when.year}"
        if self.interval == "quarter":
            return f"{when.year}-Q{(when.month - 1) // 3 + 1}"
        return f"{when.year}-{when.month:02d}"


def _first_interval(
    matrix: MrrMatrix, subscriptions: pd.DataFrame, first: np.ndarray
) -> np.ndarray:
    """Months per period of each account: the interval of its largest subscription at the end
    of its first month as a customer."""
    mrr = subscription_mrr(subscriptions)
    row = np.searchsorted(matrix.account_ids, subscriptions["account_id"].to_numpy())
    months = months_per_period(subscriptions)
    start = month_of(subscriptions["started_on"])
    ended = subscriptions["ended_on"]
    end = np.where(
        ended.isna().to_numpy(), np.iinfo(np.int64).max, month_of(ended.fillna(pd.Timestamp(0)))
    )
    month = matrix.first_month + first[row]
    active = np.flatnonzero((start <= month) & (end > month) & (mrr > 0))
    # Per account, the largest active subscription: sort by account, then MRR descending,
    # and take each account's first.
    order = active[np.lexsort((-mrr[active], row[active]))]
    accounts, firsts = np.unique(row[order], return_index=True)
    step = np.ones(len(matrix.account_ids), dtype=np.int64)
    step[accounts] = months[order][firsts]
    return step


def cohorts(
    matrix: MrrMatrix,
    subscriptions: pd.DataFrame,
    *,
    last_complete_month: int,
    gross_margin: float,
    annual_discount_rate: float,
) -> list[Cohort]:
    """Every cohort whose first period has begun by `last_complete_month`, with its tables
    and, where at least three periods are observed and someone left, its sBG fit."""
    mrr = matrix.mrr
    if mrr.size == 0:
        return []
    is_customer = mrr > 0
    ever = is_customer.any(axis=1)
    first = np.argmax(is_customer, axis=1)  # column of the first customer month
    first_month = matrix.first_month + first
    keep = ever & (first_month <= last_complete_month)
    if not keep.any():
        return []
    step = _first_interval(matrix, subscriptions, first)[keep]
    rows = np.flatnonzero(keep)
    first, first_month = first[keep], first_month[keep]
    # The cohort's period starts at the first month of the month, quarter or year.
    start = first_month - (first_month % step)

    # Periods observed per account, and the accounts × periods gathers of MRR.
    observed = (last_complete_month - first_month) // step
    depth = int(observed.max()) + 1
    period = np.arange(depth)
    columns = first[:, None] + step[:, None] * period[None, :]
    seen = period[None, :] <= observed[:, None]
    values = np.where(seen, mrr[rows[:, None], np.minimum(columns, mrr.shape[1] - 1)], 0)
    alive = values > 0
    never_churned = np.logical_and.accumulate(alive, axis=1)

    # Accounts sorted by cohort (interval, then start), split into one run per cohort.
    order = np.lexsort((start, step))
    boundaries = np.flatnonzero(np.diff(step[order]) | np.diff(start[order])) + 1
    result = []
    for members in np.split(order, boundaries):
        cohort_step, cohort_start = step[members[0]], start[members[0]]
        n = int(observed[members].min())  # the latest member limits what is observed
        size = len(members)
        starting = values[members, 0].sum()
        cohort = Cohort(
            interval=INTERVAL_NAMES[int(cohort_step)],
            start=int(cohort_start),
            size=size,
            starting_mrr=int(starting),
            survivors=never_churned[members, : n + 1].sum(axis=0).astype(int).tolist(),
            logo_retention=(alive[members, : n + 1].sum(axis=0) / size).tolist(),
            revenue_retention=(values[members, : n + 1].sum(axis=0) / starting).tolist(),
        )
        result.append(cohort)
    # One vectorized fit for all the organization's cohorts.
    for cohort, fit in zip(result, fit_sbg_many([c.survivors for c in result]), strict=True):
        if isinstance(fit, CannotFit):
            cohort.fit_note = str(fit)
            continue
        _project(
            cohort,
            fit,
            gross_margin=gross_margin,
            annual_discount_rate=annual_discount_rate,
        )
    return sorted(result, key=lambda c: (c.interval, c.start))


def _project(
    cohort: Cohort, fit: SbgFit, *, gross_margin: float, annual_discount_rate: float
) -> None:
    """Project retention and CLV from the cohort's sBG fit, with their 90 % intervals."""
    months_per_period = MONTHS_PER_INTERVAL[cohort.interval]
    cohort.fit = fit
    n = fit.periods
    ahead = np.arange(n + 1, n + PROJECTED_PERIODS + 1)
    survival = fit.survival(ahead)
    d = (1 + annual_discount_rate) ** (months_per_period / 12) - 1  # per period
    revenue_per_period = cohort.starting_mrr / cohort.size * months_per_period * gross_margin
    clv = float(revenue_per_period * fit.discounted_expected_lifetime(d))
    # Without discounting (d = 0) the expected lifetime can be infinite: null, not infinity.
    cohort.clv = clv if np.isfinite(clv) else None
    bands = fit.interval(
        lambda f: np.append(
            f.survival(ahead), revenue_per_period * f.discounted_expected_lifetime(d)
        )
    )
    low = high = None
    if bands is not None and cohort.clv is not None:
        low, high = bands
        high = np.concatenate([np.minimum(high[:-1], 1.0), high[-1:]])  # survival ≤ 1
        cohort.clv_low, cohort.clv_high = float(low[-1]), float(high[-1])
    cohort.projection = [
        {
            "period": int(t),
            "survival": float(survival[i]),
            "low": None if low is None else float(low[i]),
            "high": None if high is None else float(high[i]),
        }
        for i, t in enumerate(ahead)
    ]
