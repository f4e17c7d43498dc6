"""Projected retention and customer lifetime value: the shifted-beta-geometric (sBG) model.

Fader & Hardie, "How to Project Customer Retention" (2007) and "Customer-Base
Valuation in a Contractual Setting" (2010), exactly as docs/metrics.md states:

- P(T = t) = B(α + 1, β + t − 1) ÷ B(α, β); S(t) = B(α, β + t) ÷ B(α, β)
- LL = Σ_t n_t · ln P(T = t) + survivors_n · ln S(n)
- r_t = (β + t − 1) ÷ (α + β + t − 1)
- DEL = ₂F₁(1, β; α + β; 1 ÷ (1 + d))
- DERL after n − 1 renewals = (β + n − 1) ÷ (α + β + n − 1) · ₂F₁(1, β + n; α + β + n; 1 ÷ (1 + d))

The fit is by maximum likelihood over (ln α, ln β), so both stay positive; its
uncertainty is the inverse Hessian there, carried to anything derived from
(α, β) by the delta method on the log scale: the same data always gives the
same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

MIN_OBSERVED_PERIODS = 3  # never extrapolate a cohort observed for fewer periods
BOUND = 12.0  # |ln α|, |ln β| ≤ 12: beyond, churn is as good as homogeneous (geometric)
RIDGE = np.log(1000.0)  # α, β > 1000: the spread of churn rates is negligible


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
        self, statistic: Callable[[SbgFit], Any], *, level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The central `level` interval of a positive `statistic` of the fit (a number or an
        array), or None when the fit's uncertainty is unknown or unbounded.

        The delta method on the log scale: the gradient of ln statistic with respect to
        (ln α, ln β), by central differences, carries the covariance of the fit to
        ln statistic, whose normal interval is mapped back; so the interval is never
        negative and is wider on the side the statistic is more uncertain.
        """
        if self.covariance is None:
            return None
        step = 1e-4
        x = np.log([self.alpha, self.beta])

        def ln_statistic(shift: np.ndarray) -> np.ndarray:
            a, b = np.exp(np.clip(x + shift, -BOUND, BOUND))
            with np.errstate(divide="ignore"):
                return np.log(np.asarray(statistic(SbgFit(a, b, np.nan, self.periods)), float))

        # An infinite statistic (no discounting) makes NaN here, and no interval below.
        with np.errstate(invalid="ignore", over="ignore"):
            centre = ln_statistic(np.zeros(2))
            gradient = np.stack(
                [
                    (ln_statistic(step * unit) - ln_statistic(-step * unit)) / (2 * step)
                    for unit in np.eye(2)
                ],
                axis=-1,
            )
            variance = np.einsum("...i,ij,...j->...", gradient, self.covariance, gradient)
            spread = special.ndtri(0.5 + level / 2) * np.sqrt(np.maximum(variance, 0))
            low, high = np.exp(centre - spread), np.exp(centre + spread)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            return None  # the likelihood is too flat along some direction to bound it
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

    # ψ for each argument below, and ψ₁ = ζ(2, ·) computed in one call (special.zeta is a
    # Python wrapper, costly per call): the arguments are concatenated, then split.
    arguments = [A + 1, ab_t, B + t - 1, a, b, a + b, b + n, a + b + n]
    shapes = [
        np.broadcast_to(v, (len(a), lost.shape[1])) if np.ndim(v) == 2 else v for v in arguments
    ]
    flat = np.concatenate([np.ravel(v) for v in shapes])
    d0, d1 = special.digamma(flat), special.zeta(2, flat)
    pieces0, pieces1, start = [], [], 0
    for v in shapes:
        size_v = np.size(v)
        pieces0.append(d0[start : start + size_v].reshape(np.shape(v)))
        pieces1.append(d1[start : start + size_v].reshape(np.shape(v)))
        start += size_v
    p_a1, p_abt, p_bt, p_a, p_b, p_ab, p_bn, p_abn = pieces0
    q_a1, q_abt, q_bt, q_a, q_b, q_ab, q_bn, q_abn = pieces1

    g_a = np.sum(lost * (p_a1 - p_abt), axis=1) + remaining * (p_a - p_abn) - size * (p_a - p_ab)
    g_b = np.sum(lost * (p_bt - p_abt), axis=1) + remaining * (p_bn - p_abn) - size * (p_b - p_ab)
    h_aa = np.sum(lost * (q_a1 - q_abt), axis=1) + remaining * (q_a - q_abn) - size * (q_a - q_ab)
    h_bb = np.sum(lost * (q_bt - q_abt), axis=1) + remaining * (q_bn - q_abn) - size * (q_b - q_ab)
    h_ab = -np.sum(lost * q_abt, axis=1) - remaining * q_abn + size * q_ab
    gradient = np.column_stack([a * g_a, b * g_b])
    hessian = np.empty((len(a), 2, 2))
    hessian[:, 0, 0] = a * a * h_aa + a * g_a
    hessian[:, 1, 1] = b * b * h_bb + b * g_b
    hessian[:, 0, 1] = hessian[:, 1, 0] = a * b * h_ab
    return ll, gradient, hessian


def _ll_batch(x: np.ndarray, lost: np.ndarray, remaining: np.ndarray, n: np.ndarray) -> np.ndarray:
    """LL alone at (ln α, ln β) = x for K cohorts, for the line search."""
    a, b = np.exp(x[:, 0]), np.exp(x[:, 1])
    t = np.arange(1, lost.shape[1] + 1)[None, :]
    return (
        np.sum(lost * special.betaln(a[:, None] + 1, b[:, None] + t - 1), axis=1)
        + remaining * special.betaln(a, b + n)
        - (lost.sum(axis=1) + remaining) * special.betaln(a, b)
    )


def _maximize(lost: np.ndarray, remaining: np.ndarray, n: np.ndarray) -> list[SbgFit]:
    """Maximize LL over (ln α, ln β) in [−BOUND, BOUND]² for K cohorts at once: damped
    Newton steps (the Hessian shifted where LL is not concave), each halved until LL
    rises and projected onto the bounds. A cohort stops when its free gradient
    vanishes or its LL stops rising."""
    count = len(remaining)
    periods = np.arange(1, lost.shape[1] + 1)[None, :]
    exposure = np.sum(lost * periods, axis=1) + remaining * n
    churn = np.clip(lost.sum(axis=1) / exposure, 1e-3, 1 - 1e-3)
    # Start at the homogeneous churn that fits, with the spread of precision α + β = 2.
    x = np.log(np.column_stack([2 * churn, 2 * (1 - churn)]))
    ll, gradient, hessian = _derivatives(x, lost, remaining, n)
    active = np.ones(count, dtype=bool)
    for _iteration in range(200):
        pinned = ((x >= BOUND) & (gradient > 0)) | ((x <= -BOUND) & (gradient < 0))
        free_gradient = np.where(pinned, 0.0, gradient)
        active &= np.max(np.abs(free_gradient), axis=1) >= 1e-7
        if not active.any():
            break
        # Newton's step, with the Hessian shifted to be negative definite where LL is not
        # concave (Levenberg-Marquardt): uphill, and well scaled in both directions.
        top = np.linalg.eigvalsh(hessian)[:, -1]
        shift = np.where(top >= 0, top + np.maximum(1e-3, 0.1 * np.abs(top)), 0.0)
        safe = hessian - shift[:, None, None] * np.eye(2)[None]
        step = -np.linalg.solve(safe, gradient[:, :, None])[:, :, 0]
        # With one parameter held at a bound, step in the other alone: its own Newton step
        # where LL is concave along it, else a unit step uphill.
        for held, moving in ((0, 1), (1, 0)):
            one = pinned[:, held] & ~pinned[:, moving]
            curvature = hessian[:, moving, moving]
            along = np.where(
                curvature < 0,
                -gradient[:, moving] / np.where(curvature < 0, curvature, -1.0),
                np.sign(gradient[:, moving]),
            )
            step[:, moving] = np.where(one, along, step[:, moving])
        step = np.where(pinned, 0.0, step)
        # At most a factor e^2 per step: a nearly flat direction makes Newton's step huge.
        longest = np.max(np.abs(step), axis=1, keepdims=True)
        step = step * np.minimum(1.0, 2.0 / np.maximum(longest, 1e-300))
        scale = np.ones(count)
        pending = active.copy()
        while pending.any() and scale[pending].max() > 1e-12:
            trial = np.clip(x + scale[:, None] * step, -BOUND, BOUND)
            rose = pending & (_ll_batch(trial, lost, remaining, n) > ll)
            x = np.where(rose[:, None], trial, x)
            pending &= ~rose
            scale = np.where(pending, scale / 2, scale)
        active &= ~pending  # no step raised LL: at the maximum, to rounding
        previous = ll
        ll, gradient, hessian = _derivatives(x, lost, remaining, n)
        # Converged once LL stops rising: along a flat ridge (churn nearly the same for
        # everyone) further steps change the projection by less than this.
        active &= ll - previous > 1e-9 * np.maximum(1.0, np.abs(ll))
        # Once α and β both pass RIDGE the beta mixing is all but a point mass (churn the
        # same for everyone) and LL only creeps up along α ÷ β fixed: go to the bound.
        ridge = active & (x.min(axis=1) > RIDGE)
        if ridge.any():
            jump = np.where(ridge[:, None], x + (BOUND - x.max(axis=1, keepdims=True)), x)
            higher = ridge & (_ll_batch(jump, lost, remaining, n) >= ll)
            x = np.where(higher[:, None], jump, x)
            active &= ~higher
            ll, gradient, hessian = _derivatives(x, lost, remaining, n)

    fits = []
    for k in range(count):
        information = -hessian[k]
        covariance = None
        # At a bound the Hessian describes no maximum: no interval is claimed there.
        inside = bool(np.all(np.abs(x[k]) < BOUND - 1e-9))
        if (
            inside
            and np.all(np.isfinite(information))
            and np.all(np.linalg.eigvalsh(information) > 0)
        ):
            covariance = np.linalg.inv(information)
        alpha, beta = np.exp(x[k])
        fits.append(
            SbgFit(
                alpha=float(alpha),
                beta=float(beta),
                log_likelihood=float(ll[k]),
                periods=int(n[k]),
                covariance=covariance,
            )
        )
    return fits


def _checked(survivors: Sequence[int]) -> tuple[np.ndarray, int, int]:
    n = len(survivors) - 1
    if n < MIN_OBSERVED_PERIODS:
        raise CannotFit(f"Observed for {n} period(s); at least {MIN_OBSERVED_PERIODS} are needed.")
    lost, remaining, n = _lost_and_survivors(survivors)
    if lost.sum() == 0:
        raise CannotFit("No customer was lost yet, so retention cannot be projected.")
    return lost, remaining, n


def fit_sbg_many(cohorts: Sequence[Sequence[int]]) -> list[SbgFit | CannotFit]:
    """fit_sbg for many cohorts in one vectorized pass: each result is the cohort's fit,
    or the CannotFit that says why it has none."""
    results: list[SbgFit | CannotFit] = []
    fittable: list[tuple[int, np.ndarray, int, int]] = []
    for survivors in cohorts:
        try:
            lost, remaining, n = _checked(survivors)
        except CannotFit as reason:
            results.append(reason)
            continue
        fittable.append((len(results), lost, remaining, n))
        results.append(CannotFit("not fitted yet"))
    if fittable:
        width = max(k for _i, _l, _r, k in fittable)
        all_lost = np.zeros((len(fittable), width))
        for row, (_i, counts, _r, k) in enumerate(fittable):
            all_lost[row, :k] = counts
        all_remaining = np.array([r for _i, _l, r, _k in fittable], dtype=float)
        periods = np.array([k for _i, _l, _r, k in fittable], dtype=float)
        for (index, _l, _r, _k), fit in zip(
            fittable, _maximize(all_lost, all_remaining, periods), strict=True
        ):
            results[index] = fit
    return results


def fit_sbg(survivors: Sequence[int]) -> SbgFit:
    """Fit the sBG model to the counts alive at periods 0..n (the first is the cohort size).

    Raises CannotFit when there are fewer than MIN_OBSERVED_PERIODS periods, when no
    customer was lost (the likelihood then grows without bound) or when the counts
    are not a survival curve.
    """
    (result,) = fit_sbg_many([survivors])
    if isinstance(result, CannotFit):
        raise result
    return result
