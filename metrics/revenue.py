"""Revenue metrics from subscription history, whole-frame with NumPy (docs/metrics.md).

Months are integers: months since January 1970 (`numpy.datetime64(..., "M")`).
An account's MRR at a month is the sum of its subscriptions' MRR active on the
month's last day, so a subscription counts at month ends [month(started_on),
month(ended_on)) — `ended_on` being the first day no longer served. Everything
below works on the accounts × months matrix of those sums; nothing loops over
accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from accounts.models import MONTHS_PER_INTERVAL as _MONTHS_PER_INTERVAL

MONTHS_PER_INTERVAL = {str(interval): months for interval, months in _MONTHS_PER_INTERVAL.items()}

# The subscriptions frame (metrics.services.subscriptions_frame): one row per subscription,
# with the columns account_id, mrr_cents and interval_months (Subscription's generated
# columns: the one definition of a subscription's MRR), started_on and ended_on
# (datetime64, NaT while active).


def month_of(day: date | np.ndarray | pd.Series) -> np.ndarray:
    """Months since January 1970 of a date or an array of dates."""
    return np.asarray(
        np.asarray(day, dtype="datetime64[D]").astype("datetime64[M]"), dtype=np.int64
    )


def month_start(month: int | np.ndarray) -> np.ndarray:
    return np.asarray(month, dtype=np.int64).astype("datetime64[M]").astype("datetime64[D]")


def subscription_mrr(subscriptions: pd.DataFrame) -> np.ndarray:
    """Each subscription's MRR in cents, as stored (Subscription.reported_mrr_cents: in
    the reporting currency, docs/metrics.md#currencies)."""
    return subscriptions["mrr_cents"].to_numpy(dtype=np.int64)


def months_per_period(subscriptions: pd.DataFrame) -> np.ndarray:
    """Each subscription's billing interval in months, as stored (Subscription.interval_months)."""
    return subscriptions["interval_months"].to_numpy(dtype=np.int64)


def add_months(day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Each day plus that many calendar months (datetime64[D]); a day past the end of the
    month reached falls on its last day, as Postgres's `date + interval 'n months'`."""
    start_month = month_of(day)
    day_of_month = (day - month_start(start_month)).astype(np.int64)  # 0-based
    month = start_month + months
    length = (month_start(month + 1) - month_start(month)).astype(np.int64)
    return month_start(month) + np.minimum(day_of_month, length - 1).astype("timedelta64[D]")


def next_renewal(subscriptions: pd.DataFrame, on_day: date) -> np.ndarray:
    """Each subscription's next renewal as it stands on `on_day` (datetime64[D], NaT for
    none): the SQL function csp_next_renewal (accounts migration 0012) over a whole frame,
    the same rule (tests/test_subscription_rules.py checks they agree). A paying quarterly
    or yearly subscription active that day renews on the first anniversary of its start
    after the day, or ends sooner (a cancellation on file is as urgent as a renewal)."""
    start = subscriptions["started_on"].to_numpy(dtype="datetime64[D]")
    end = subscriptions["ended_on"].to_numpy(dtype="datetime64[D]")  # NaT while active
    step = months_per_period(subscriptions)
    day = np.datetime64(on_day, "D")
    renews = (
        (step > 1)
        & (subscription_mrr(subscriptions) > 0)
        & (start <= day)
        & (np.isnat(end) | (end > day))
    )
    periods = (month_of(day) - month_of(start)) // np.maximum(step, 1)
    candidate = add_months(start, periods * step)
    candidate = np.where(candidate > day, candidate, add_months(start, (periods + 1) * step))
    candidate = np.where(np.isnat(end), candidate, np.minimum(candidate, end))
    return np.where(renews, candidate, np.datetime64("NaT", "D"))


@dataclass(frozen=True)
class MrrMatrix:
    """MRR in cents of each account (rows) at the end of each month (columns)."""

    account_ids: np.ndarray
    first_month: int
    mrr: np.ndarray  # shape (accounts, months), int64

    @property
    def months(self) -> np.ndarray:
        return self.first_month + np.arange(self.mrr.shape[1])


def mrr_matrix(subscriptions: pd.DataFrame, *, through: int) -> MrrMatrix:
    """The accounts × months MRR matrix from the first subscription's month to `through`."""
    if subscriptions.empty:
        return MrrMatrix(np.array([], dtype=np.int64), through, np.zeros((0, 0), dtype=np.int64))
    account_ids, rows = np.unique(subscriptions["account_id"].to_numpy(), return_inverse=True)
    start = month_of(subscriptions["started_on"])
    ended = subscriptions["ended_on"]
    end = np.where(
        ended.isna().to_numpy(), through + 1, month_of(ended.fillna(pd.Timestamp("1970-01-01")))
    )
    first = int(start.min())
    if first > through:  # every subscription starts after the current month
        return MrrMatrix(np.array([], dtype=np.int64), through, np.zeros((0, 0), dtype=np.int64))
    width = through - first + 1
    start_col = np.clip(start - first, 0, width)
    end_col = np.clip(end - first, 0, width)
    mrr = subscription_mrr(subscriptions)
    # A difference array per account: +mrr where a subscription starts counting, −mrr where
    # it stops; the running sum along the months is the matrix.
    live = (end_col > start_col) & (mrr != 0)
    diff = np.zeros((len(account_ids), width + 1), dtype=np.int64)
    np.add.at(diff, (rows[live], start_col[live]), mrr[live])
    np.add.at(diff, (rows[live], end_col[live]), -mrr[live])
    return MrrMatrix(account_ids, first, np.cumsum(diff, axis=1)[:, :width])


def _previous(matrix: np.ndarray, lag: int = 1) -> np.ndarray:
    """The matrix shifted right by `lag` months, zeros before the first month."""
    shifted = np.zeros_like(matrix)
    if lag < matrix.shape[1]:
        shifted[:, lag:] = matrix[:, :-lag]
    return shifted


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator ÷ denominator, NaN (null) where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def monthly_revenue(matrix: MrrMatrix) -> pd.DataFrame:
    """Per month: MRR, customers, the five movements with their counts, and the rates."""
    c = matrix.mrr
    p = _previous(c)
    ever_before = np.logical_or.accumulate(p > 0, axis=1) if c.size else p > 0
    joined = (p == 0) & (c > 0)
    new = joined & ~ever_before
    reactivated = joined & ever_before
    churned = (p > 0) & (c == 0)
    expanded = (p > 0) & (c > p)
    contracted = (p > 0) & (c > 0) & (c < p)

    f: dict[str, np.ndarray] = {}  # the columns, built as arrays, framed once
    f["mrr"] = c.sum(axis=0)
    f["customers"] = (c > 0).sum(axis=0)
    f["new"] = np.where(new, c, 0).sum(axis=0)
    f["expansion"] = np.where(expanded, c - p, 0).sum(axis=0)
    f["contraction"] = np.where(contracted, p - c, 0).sum(axis=0)
    f["churn"] = np.where(churned, p, 0).sum(axis=0)
    f["reactivation"] = np.where(reactivated, c, 0).sum(axis=0)
    f["new_customers"] = new.sum(axis=0)
    f["churned_customers"] = churned.sum(axis=0)
    f["reactivated_customers"] = reactivated.sum(axis=0)
    f["expansion_customers"] = expanded.sum(axis=0)
    f["contraction_customers"] = contracted.sum(axis=0)

    previous_mrr = p.sum(axis=0)
    previous_customers = (p > 0).sum(axis=0)
    lost = f["churn"] + f["contraction"]
    gained = f["new"] + f["reactivation"] + f["expansion"]
    f["logo_churn_rate"] = ratio(f["churned_customers"], previous_customers)
    f["gross_mrr_churn_rate"] = ratio(lost, previous_mrr)
    f["net_mrr_churn_rate"] = ratio(lost - f["expansion"] - f["reactivation"], previous_mrr)
    f["expansion_rate"] = ratio(f["expansion"], previous_mrr)
    f["quick_ratio"] = ratio(gained, lost)
    f["arpa"] = ratio(f["mrr"], f["customers"])
    f["arr"] = 12 * f["mrr"]

    # Trailing twelve months: the accounts that were customers 12 months earlier.
    base = _previous(c, 12)
    was_customer = base > 0
    base_mrr = np.where(was_customer, base, 0).sum(axis=0)
    f["nrr"] = ratio(np.where(was_customer, c, 0).sum(axis=0), base_mrr)
    f["grr"] = ratio(np.where(was_customer, np.minimum(c, base), 0).sum(axis=0), base_mrr)
    return pd.DataFrame(f, index=pd.Index(matrix.months, name="month"))


def account_terms(matrix: MrrMatrix) -> dict[str, np.ndarray]:
    """Each account's terms in the metrics of the matrix's last month: its MRR then
    (`mrr`), a month before (`previous_mrr`), twelve months before (`base_mrr`), and
    whether it had MRR > 0 at any earlier month end (`was_customer`). Every column
    `monthly_revenue` gives that month is a sum over these; accounts whose three
    amounts are 0 add nothing and are left out. Arrays sorted by account_id."""
    c = matrix.mrr
    width = c.shape[1]

    def at(lag: int) -> np.ndarray:
        return c[:, width - 1 - lag] if width > lag else np.zeros(len(c), dtype=np.int64)

    mrr, previous_mrr, base_mrr = at(0), at(1), at(12)
    adds = (mrr > 0) | (previous_mrr > 0) | (base_mrr > 0)
    return {
        "account_id": matrix.account_ids[adds],  # sorted: np.unique made them
        "mrr": mrr[adds],
        "previous_mrr": previous_mrr[adds],
        "base_mrr": base_mrr[adds],
        "was_customer": (c[:, :-1] > 0).any(axis=1)[adds],
    }


def simple_clv(revenue: pd.DataFrame, *, gross_margin: float) -> pd.Series:
    """ARPA × gross margin ÷ the mean monthly logo churn rate of the six months before.

    Months whose churn rate is undefined (no customers) are left out of the mean;
    null when no month is left or the mean is 0.
    """
    prior_churn = revenue["logo_churn_rate"].shift(1).rolling(6, min_periods=1).mean()
    clv = revenue["arpa"] * gross_margin / prior_churn.where(prior_churn > 0)
    return clv


def logo_churn_rate_over(months: Iterable[Mapping[str, Any]]) -> float | None:
    """Logo churn over several months (a quarter) as one monthly rate, a fraction: the
    customers who churned in those months ÷ the sum of the customers at the start of
    each month (at M−1), i.e. the months' rates weighted by their customers
    (docs/metrics.md#rates). 10, 50 and 100 customers losing 2, 1 and 2 give 5 ÷ 160.

    Each month is its stored row (`logo_churn_rate`, `customers`, `new_customers`,
    `reactivated_customers`, `churned_customers`); its customers at M−1 follow from the
    movement identity, customers(M) − new − reactivated + churned. Months whose rate is
    undefined (no customers at their start) are left out; None when none is left.
    """
    churned = at_start = 0
    for month in months:
        if month["logo_churn_rate"] is None:
            continue
        churned += month["churned_customers"]
        at_start += (
            month["customers"]
            - month["new_customers"]
            - month["reactivated_customers"]
            + month["churned_customers"]
        )
    return churned / at_start if at_start > 0 else None


RENEWAL_COLUMNS = ["renewals_due", "renewals_renewed", "renewals_due_mrr", "renewals_renewed_mrr"]


def renewals(subscriptions: pd.DataFrame, *, first_month: int, through: date) -> pd.DataFrame:
    """Per month: the renewal dates due in it and how many (and how much MRR) renewed.

    A renewal date is an anniversary of a paying subscription's start at its billing
    interval (the 31st falls on the month's last day when it has fewer), up to and
    including the day it ended; it renewed if the account still had MRR > 0 the day
    after. Only dates whose day after has come (is `through`, today, or earlier) count.
    """
    return renewals_by_month(
        renewal_dates(subscriptions, first_month=first_month, through=through), first_month
    )


def renewals_by_month(dates: pd.DataFrame, first_month: int) -> pd.DataFrame:
    """`renewals` from `renewal_dates` (those whose day after has come)."""
    if dates.empty:
        return pd.DataFrame(columns=RENEWAL_COLUMNS, dtype=np.int64).rename_axis("month")
    offset = dates["month"].to_numpy() - first_month
    renewed = dates["renewed"].to_numpy()
    mrr = dates["mrr"].to_numpy()
    width = int(offset.max()) + 1
    by_month = pd.DataFrame(
        {
            "renewals_due": np.bincount(offset, minlength=width),
            "renewals_renewed": np.bincount(offset, weights=renewed, minlength=width),
            "renewals_due_mrr": np.bincount(offset, weights=mrr, minlength=width),
            "renewals_renewed_mrr": np.bincount(offset, weights=mrr * renewed, minlength=width),
        },
        index=pd.Index(first_month + np.arange(width), name="month"),
    )
    return by_month.astype(np.int64)


def renewal_dates(subscriptions: pd.DataFrame, *, first_month: int, through: date) -> pd.DataFrame:
    """Each renewal date (see `renewals`) from `first_month` on whose day after is
    `through` or earlier: its account_id, date `on`, `month`, the subscription's `mrr`
    and whether the account `renewed` (had MRR > 0 the day after, as the data stands)."""
    subs = subscriptions.assign(mrr=subscription_mrr(subscriptions))
    subs = subs[subs["mrr"] > 0].reset_index(drop=True)
    if subs.empty:
        return pd.DataFrame(
            {
                "account_id": np.array([], dtype=np.int64),
                "on": np.array([], dtype="datetime64[D]"),
                "month": np.array([], dtype=np.int64),
                "mrr": np.array([], dtype=np.int64),
                "renewed": np.array([], dtype=bool),
            }
        )

    start = subs["started_on"].to_numpy(dtype="datetime64[D]")
    ended = subs["ended_on"].to_numpy(dtype="datetime64[D]")  # NaT while active
    last_day = np.datetime64(through, "D") - np.timedelta64(1, "D")
    limit = np.where(np.isnat(ended), last_day, np.minimum(ended, last_day))
    step = months_per_period(subs)
    start_month = month_of(start)

    def anniversary(k: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return add_months(start[rows], k * step[rows])

    all_rows = np.arange(len(subs))
    count = np.maximum((month_of(limit) - start_month) // step, 0)
    # The last candidate may fall after the limit within the limit's month.
    late = (count > 0) & (anniversary(count, all_rows) > limit)
    count = count - late
    rows = np.repeat(all_rows, count)
    k = np.arange(len(rows)) - np.repeat(np.cumsum(count) - count, count) + 1
    on = anniversary(k, rows)
    month = month_of(on)
    in_range = month >= first_month
    rows, on, month = rows[in_range], on[in_range], month[in_range]

    # Renewed: some paying subscription of the account covers the day after. Each
    # account's subscriptions are contiguous once sorted; try its 1st, 2nd, … in turn
    # (a loop over the few slots an account has, not over accounts).
    accounts = subs["account_id"].to_numpy()
    order = np.argsort(accounts, kind="stable")
    sorted_accounts = accounts[order]
    first = np.searchsorted(sorted_accounts, accounts[rows], side="left")
    last = np.searchsorted(sorted_accounts, accounts[rows], side="right")
    after = on + np.timedelta64(1, "D")
    renewed = np.zeros(len(rows), dtype=bool)
    for slot in range(int((last - first).max(initial=0))):
        candidate = order[np.minimum(first + slot, len(order) - 1)]
        covers = (
            (first + slot < last)
            & (start[candidate] <= after)
            & (np.isnat(ended[candidate]) | (ended[candidate] > after))
        )
        renewed |= covers
    return pd.DataFrame(
        {
            "account_id": accounts[rows],
            "on": on,
            "month": month,
            "mrr": subs["mrr"].to_numpy()[rows],
            "renewed": renewed,
        }
    )
