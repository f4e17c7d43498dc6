"""The health score's back-test: how well the score at the start of each of the last
12 months ranked the customers that churned within the next 90 days (METRICS.md,
Health; docs/metrics.md, Back-test).

For each month whose 90 days have passed, the components are computed as of the
day before the month starts, from what was known at the end of that day
(metrics.health: the same code as the daily snapshot, in hindsight mode: survey
answers with the score they had then, contacts created by then, no subscription end
recorded later). A customer that day "churned" when it is no longer a
customer 90 days later. The ROC AUC is the probability that a churner scored
lower than a customer that stayed (ties count half): 0.5 ranks no better than
chance, 1 perfectly. The lift table splits the customer-months into ten groups
by score, riskiest first, and compares each group's churn rate with the overall.

Loading the components is the costly part (a fixed number of queries per month);
scoring them under other weights is whole-frame arithmetic, so a proposed change
is evaluated on the same loaded frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from metrics.health.inputs import customers_on, health_inputs
from metrics.health.model import COMPONENTS, Model
from metrics.health.scoring import health_components, health_scores

HORIZON_DAYS = 90
MONTHS = 12
GROUPS = 10


def backtest_days(today: date, months: int = MONTHS) -> list[date]:
    """The as-of days: the eve of each of the last `months` month starts whose next
    HORIZON_DAYS have passed, oldest first."""
    latest = today - timedelta(days=HORIZON_DAYS - 1)
    first = latest.replace(day=1)
    starts = []
    for _ in range(months):
        starts.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return [start - timedelta(days=1) for start in reversed(starts)]


def backtest_frame(*, model: Model, today: date, months: int = MONTHS) -> pd.DataFrame:
    """The components of every customer on every as-of day, with `as_of` and whether it
    `churned` within HORIZON_DAYS, for the current organization. The engagement mix
    and adoption threshold are `model`'s; the weights and bands are applied later."""
    from metrics.services import subscriptions_frame

    subscriptions = subscriptions_frame()
    frames = []
    for as_of in backtest_days(today, months):
        components = health_components(health_inputs(subscriptions, as_of, hindsight=True), model)
        later = customers_on(subscriptions, as_of + timedelta(days=HORIZON_DAYS))
        components["churned"] = ~components.index.isin(later["account_id"])
        components["as_of"] = as_of
        frames.append(components.reset_index())
    if not frames:
        return pd.DataFrame(columns=["account_id", "as_of", "churned", *COMPONENTS])
    return pd.concat(frames, ignore_index=True)


def roc_auc(scores: np.ndarray, churned: np.ndarray) -> float | None:
    """P(a churner's score < a stayer's score), ties half (Mann–Whitney U ÷ n₁n₀).
    None without both churners and stayers."""
    churned = churned.astype(bool)
    positives, negatives = int(churned.sum()), int((~churned).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(-scores)  # the lowest score is the riskiest: the highest rank
    u = ranks[churned].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def lift_table(scores: np.ndarray, churned: np.ndarray, groups: int = GROUPS) -> pd.DataFrame:
    """`groups` groups of (nearly) equal size by score, lowest first: accounts, churned,
    churn rate, lift (rate ÷ overall rate), the score range, and the tenths (of
    `groups`) the group spans. Tied scores always share a group: a run of ties goes to
    the group in which its middle falls, so a group may span more than one tenth and
    another be absent. The table depends on the scores and outcomes only, never on
    the rows' order."""
    columns = ["group", "accounts", "churned", "rate", "lift", "low", "high"]
    if len(scores) == 0:
        return pd.DataFrame(columns=[*columns, "first_tenth", "last_tenth"])
    n = len(scores)
    g = min(groups, n)
    scores = np.asarray(scores, dtype=float)
    first = rankdata(scores, method="min") - 1  # rows below each score's run of ties
    last = rankdata(scores, method="max") - 1
    frame = pd.DataFrame(
        {
            "group": ((first + last) / 2 * g // n).astype(int) + 1,
            "score": scores,
            "churned": np.asarray(churned).astype(bool),
            "first_tenth": (first * g // n).astype(int) + 1,
            "last_tenth": (last * g // n).astype(int) + 1,
        }
    )
    table = frame.groupby("group").agg(
        accounts=("churned", "size"),
        churned=("churned", "sum"),
        low=("score", "min"),
        high=("score", "max"),
        first_tenth=("first_tenth", "min"),
        last_tenth=("last_tenth", "max"),
    )
    overall = frame["churned"].mean()
    table["rate"] = table["churned"] / table["accounts"]
    table["lift"] = table["rate"] / overall if overall > 0 else np.nan
    return table.reset_index()[[*columns, "first_tenth", "last_tenth"]]


@dataclass(frozen=True)
class MonthResult:
    as_of: date
    customers: int
    churned: int
    auc: float | None


@dataclass(frozen=True)
class Backtest:
    auc: float | None  # over every customer-month
    customers: int
    churned: int
    months: list[MonthResult]
    lift: pd.DataFrame


def backtest(frame: pd.DataFrame, model: Model) -> Backtest:
    """Score the loaded customer-months under `model` and measure the ranking."""
    if frame.empty:
        return Backtest(None, 0, 0, [], lift_table(np.array([]), np.array([])))
    scored = health_scores(frame.set_index("account_id"), model)
    scores = scored["score"].to_numpy(dtype=float)
    churned = scored["churned"].to_numpy(dtype=bool)
    months = [
        MonthResult(
            as_of=as_of,
            customers=len(group),
            churned=int(group["churned"].sum()),
            auc=roc_auc(group["score"].to_numpy(dtype=float), group["churned"].to_numpy(bool)),
        )
        for as_of, group in scored.groupby("as_of", sort=True)
    ]
    return Backtest(
        auc=roc_auc(scores, churned),
        customers=len(scored),
        churned=int(churned.sum()),
        months=months,
        lift=lift_table(scores, churned),
    )
