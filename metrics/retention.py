"""Projected retention and customer lifetime value: the shifted-beta-geometric (sBG) model.

Fader & Hardie, "How to Project Customer Retention" (2007) and "Customer-Base
Valuation in a Contractual Setting" (2010), exactly as docs/metrics.md states:

- P(T = t) = B(α + 1, β + t − 1) ÷ B(α, β); S(t) = B(α, β + t) ÷ B(α, β)
- LL = Σ_t n_t · ln P(T = t) + survivors_n · ln S(n)
- r_t = (β + t − 1) ÷ (α + β + t − 1)
- DEL = ₂F₁(1, β; α + β; 1 ÷ (1 + d))
- DERL after n − 1 renewals = (β + n − 1) ÷ (α + β + n − 1) · ₂F₁(1, β + n; α + β + n; 1 ÷ (1 + d))

The fit is by maximum likelihood over (ln α, ln β), so both stay positive; its
uncertainty is the inverse Hessian there, and intervals of anything derived
from (α, β) come from a fixed-seed sample of that normal: the same data always
gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

MIN_OBSERVED_PERIODS = 3  # never extrapolate a cohort observed for fewer periods
BOUND = 12.0  # |ln α|, |ln β| ≤ 12: beyond, churn is as good as homogeneous (geometric)


class CannotFit(ValueError):  # noqa: N818 (reads as what it says: the data cannot fit)
    """The survivors cannot identify an sBG model (too few periods, no churn, not decreasing)."""


@dataclass(frozen=True)
class SbgFit:
    # Floats for a fit; arrays (one value per draw) inside `interval`, where every method
    # below works element-wise.
    alpha: Any
    beta: Any
    log_likelihood: float
    periods: int  # n, the renewal periods observed
    # Covariance of (ln α, ln β); None where the likelihood is flat (it cannot be inverted).
    covariance: np.ndarray | None = field(default=None, repr=False, compare=False)

    def churn_probability(self, t: int | np.ndarray) -> np.ndarray:
        """P(T = t), t ≥ 1: the probability a new customer leaves at period t."""
        t = np.asarray(t, dtype=float)
        a, b = self.alpha, self.beta
        return np.exp(special.betaln(a + 1, b + t - 1) - special.betaln(a, b))

    def survival(self, t: int | np.ndarray) -> np.ndarray:
        """S(t): the share of a cohort still customers after t periods (S(0) = 1)."""
        t = np.asarray(t, dtype=float)
        a, b = self.alpha, self.beta
        return np.exp(special.betaln(a, b + t) - special.betaln(a, b))

    def retention(self, t: int | np.ndarray) -> np.ndarray:
        """r_t: the share of customers at period t − 1 who renew for period t (t ≥ 1)."""
        t = np.asarray(t, dtype=float)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def discounted_expected_lifetime(self, d: float) -> Any:
        """DEL: expected discounted number of periods paid for by a new customer."""
        return special.hyp2f1(1, self.beta, self.alpha + self.beta, 1 / (1 + d))

    def discounted_expected_residual_lifetime(self, d: float, renewals: int) -> Any:
        """DERL of a customer who has renewed `renewals` (= n − 1) times."""
        n = renewals + 1
        a, b = self.alpha, self.beta
        return (b + n - 1) / (a + b + n - 1) * special.hyp2f1(1, b + n, a + b + n, 1 / (1 + d))

    def interval(
        self,
        statistic: Callable[[SbgFit], Any],
        *,
        level: float = 0.9,
        draws: int = 500,
        seed: int = 0,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The central `level` interval of `statistic` over the fit's uncertainty, or None
        when the uncertainty is unknown. `statistic` gets a fit whose alpha and beta are
        column vectors of draws, so `fit.survival(np.arange(1, 13))` gives a draws × 12 array."""
        if self.covariance is None:
            return None
        rng = np.random.default_rng(seed)
        mean = np.log([self.alpha, self.beta])
        # Draws stay within the fit's bounds: a flat likelihood (nearly homogeneous churn)
        # has a huge variance along its ridge.
        logs = rng.multivariate_normal(mean, self.covariance, size=draws)
        samples = np.exp(np.clip(logs, -BOUND, BOUND))
        draws_fit = SbgFit(samples[:, :1], samples[:, 1:], np.nan, self.periods)
        with np.errstate(over="ignore", invalid="ignore"):  # extreme draws give inf/NaN
            values = np.asarray(statistic(draws_fit), dtype=float)
        tail = (1 - level) / 2 * 100
        low, high = np.nanpercentile(values, [tail, 100 - tail], axis=0)
        return low, high


def _lost_and_survivors(survivors: Sequence[int]) -> tuple[np.ndarray, int, int]:
    alive = np.asarray(survivors, dtype=float)
    if alive.ndim != 1 or len(alive) < 2:
        raise CannotFit("Give the counts alive at periods 0..n, n ≥ 1.")
    if np.any(alive < 0) or np.any(np.diff(alive) > 0) or alive[0] <= 0:
        raise CannotFit("Survivors must start positive and never increase.")
    return -np.diff(alive), int(alive[-1]), len(alive) - 1


def log_likelihood(alpha: float, beta: float, survivors: Sequence[int]) -> float:
    """LL of (α, β) for the survivors at periods 0..n (the formula above)."""
    lost, remaining, n = _lost_and_survivors(survivors)
    t = np.arange(1, n + 1)
    base = special.betaln(alpha, beta)
    ln_p = special.betaln(alpha + 1, beta + t - 1) - base
    ln_s = special.betaln(alpha, beta + n) - base
    return float(np.sum(lost * ln_p) + remaining * ln_s)


def _derivatives(
    x: np.ndarray, lost: np.ndarray, remaining: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LL, its gradient and Hessian in (ln α, ln β), for K cohorts at once.

    x: K × 2; lost: K × N (zero-padded past each cohort's n); remaining, n: K.
    Uses d ln B(x, y)/dx = ψ(x) − ψ(x + y) and the trigamma ψ₁ for second derivatives.
    """
    a, b = np.exp(x[:, 0]), np.exp(x[:, 1])
    t = np.arange(1, lost.shape[1] + 1)[None, :]
    size = lost.sum(axis=1) + remaining
    A, B = a[:, None], b[:, None]  # noqa: N806 (the paper's α, β as columns)
    ab_t = A + B + t
    ll = (
        np.sum(lost * special.betaln(A + 1, B + t - 1), axis=1)
        + remaining * special.betaln(a, b + n)
        - size * special.betaln(a, b)
    )

    def psi(k: int, v: Any) -> Any:
        return special.polygamma(k, v)

    g_a = (
        np.sum(lost * (psi(0, A + 1) - psi(0, ab_t)), axis=1)
        + remaining * (psi(0, a) - psi(0, a + b + n))
        - size * (psi(0, a) - psi(0, a + b))
    )
    g_b = (
        np.sum(lost * (psi(0, B + t - 1) - psi(0, ab_t)), axis=1)
        + remaining * (psi(0, b + n) - psi(0, a + b + n))
        - size * (psi(0, b) - psi(0, a + b))
    )
    h_aa = (
        np.sum(lost * (psi(1, A + 1) - psi(1, ab_t)), axis=1)
        + remaining * (psi(1, a) - psi(1, a + b + n))
        - size * (psi(1, a) - psi(1, a + b))
    )
    h_bb = (
        np.sum(lost * (psi(1, B + t - 1) - psi(1, ab_t)), axis=1)
        + remaining * (psi(1, b + n) - psi(1, a + b + n))
        - size * (psi(1, b) - psi(1, a + b))
    )
    h_ab = (
        -np.sum(lost * psi(1, ab_t), axis=1) - remaining * psi(1, a + b + n) + size * psi(1, a + b)
    )
    gradient = np.column_stack([a * g_a, b * g_b])
    hessian = np.empty((len(a), 2, 2))
    hessian[:, 0, 0] = a * a * h_aa + a * g_a
    hessian[:, 1, 1] = b * b * h_bb + b * g_b
    hessian[:, 0, 1] = hessian[:, 1, 0] = a * b * h_ab
    return ll, gradient, hessian


def _start(lost: np.ndarray, remaining: float) -> np.ndarray:
    """A starting point: the geometric (homogeneous) churn that fits the data, with the
    spread of a beta distribution of precision α + β = 2."""
    periods = np.arange(1, len(lost) + 1)
    exposure = np.sum(lost * periods) + remaining * len(lost)
    churn = np.clip(lost.sum() / exposure, 1e-3, 1 - 1e-3)
    return np.log([2 * churn, 2 * (1 - churn)])


def _fit_one(lost: np.ndarray, remaining: int, n: int) -> SbgFit:
    lost_2d, remaining_1d, n_1d = lost[None, :], np.array([remaining]), np.array([n])

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        ll, gradient, _hessian = _derivatives(x[None, :], lost_2d, remaining_1d, n_1d)
        return -float(ll[0]), -gradient[0]

    result = optimize.minimize(
        objective,
        x0=_start(lost, remaining),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-BOUND, BOUND), (-BOUND, BOUND)],
    )
    ll, _gradient, hessian = _derivatives(result.x[None, :], lost_2d, remaining_1d, n_1d)
    information = -hessian[0]
    covariance = None
    if np.all(np.isfinite(information)) and np.all(np.linalg.eigvalsh(information) > 0):
        covariance = np.linalg.inv(information)
    alpha, beta = np.exp(result.x)
    return SbgFit(
        alpha=float(alpha),
        beta=float(beta),
        log_likelihood=float(ll[0]),
        periods=n,
        covariance=covariance,
    )


def fit_sbg(survivors: Sequence[int]) -> SbgFit:
    """Fit the sBG model to the counts alive at periods 0..n (the first is the cohort size).

    Raises CannotFit when there are fewer than MIN_OBSERVED_PERIODS periods, when no
    customer was lost (the likelihood then grows without bound) or when the counts
    are not a survival curve.
    """
    n = len(survivors) - 1
    if n < MIN_OBSERVED_PERIODS:
        raise CannotFit(f"Observed for {n} period(s); at least {MIN_OBSERVED_PERIODS} are needed.")
    lost, remaining, n = _lost_and_survivors(survivors)
    if lost.sum() == 0:
        raise CannotFit("No customer was lost yet, so retention cannot be projected.")
    return _fit_one(lost, remaining, n)
