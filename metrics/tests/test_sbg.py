"""The sBG fit, checked against likelihoods and lifetimes computed another way."""

import math

import numpy as np
import pytest

from metrics.retention import CannotFit, SbgFit, fit_sbg, log_likelihood

# Fader & Hardie (2007), "How to Project Customer Retention", years 0..7 of two segments,
# with the maximum-likelihood estimates the paper reports.
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def independent_log_likelihood(alpha, beta, survivors):
    """LL from the paper's recursion: P(1) = α/(α+β), P(t) = P(t−1)·(β+t−2)/(α+β+t−1)."""
    n = len(survivors) - 1
    p = alpha / (alpha + beta)
    probabilities = [p]
    for t in range(2, n + 1):
        p *= (beta + t - 2) / (alpha + beta + t - 1)
        probabilities.append(p)
    surviving = 1 - sum(probabilities)
    lost = [survivors[t - 1] - survivors[t] for t in range(1, n + 1)]
    return sum(k * math.log(q) for k, q in zip(lost, probabilities, strict=True)) + survivors[
        -1
    ] * math.log(surviving)


@pytest.mark.parametrize(
    ("survivors", "alpha", "beta"), [(HIGH_END, 0.668, 3.806), (REGULAR, 0.704, 1.182)]
)
def test_it_reproduces_the_papers_estimates(survivors, alpha, beta):
    fit = fit_sbg(survivors)
    assert (fit.alpha, fit.beta) == (pytest.approx(alpha, abs=1e-3), pytest.approx(beta, abs=1e-3))
    assert fit.periods == 7


@pytest.mark.parametrize("survivors", [HIGH_END, REGULAR, [120, 110, 104, 99, 97, 95]])
def test_it_reports_the_likelihood_computed_independently_and_maximizes_it(survivors):
    fit = fit_sbg(survivors)
    expected = independent_log_likelihood(fit.alpha, fit.beta, survivors)
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-9)
    assert log_likelihood(fit.alpha, fit.beta, survivors) == pytest.approx(expected, rel=1e-9)
    for da, db in [(1.02, 1), (0.98, 1), (1, 1.02), (1, 0.98), (1.02, 1.02), (0.98, 0.98)]:
        nearby = independent_log_likelihood(fit.alpha * da, fit.beta * db, survivors)
        assert nearby < fit.log_likelihood


def test_it_gives_survival_and_retention_consistent_with_each_other():
    fit = SbgFit(alpha=0.704, beta=1.182, log_likelihood=0.0, periods=7)
    t = np.arange(1, 10)
    assert fit.survival(0) == pytest.approx(1)
    assert fit.retention(t) == pytest.approx(fit.survival(t) / fit.survival(t - 1))
    assert fit.churn_probability(t) == pytest.approx(fit.survival(t - 1) - fit.survival(t))


def test_it_computes_discounted_lifetimes_as_their_series_sums():
    fit = SbgFit(alpha=0.668, beta=3.806, log_likelihood=0.0, periods=7)
    d = 0.1
    t = np.arange(0, 5000)
    discount = (1 / (1 + d)) ** t
    assert fit.discounted_expected_lifetime(d) == pytest.approx(
        np.sum(fit.survival(t) * discount), rel=1e-6
    )
    renewals = 4  # n − 1
    n = renewals + 1
    later = np.arange(n, 5000)
    series = np.sum(fit.survival(later) / fit.survival(n - 1) * (1 / (1 + d)) ** (later - n))
    assert fit.discounted_expected_residual_lifetime(d, renewals) == pytest.approx(series, rel=1e-6)


def test_it_gives_an_interval_around_the_estimate():
    fit = fit_sbg(REGULAR)
    low, high = fit.interval(lambda f: f.survival(np.arange(8, 13)))
    estimate = fit.survival(np.arange(8, 13))
    assert np.all(low < estimate)
    assert np.all(estimate < high)
    assert fit.interval(lambda f: f.survival(10)) == fit.interval(lambda f: f.survival(10))


@pytest.mark.parametrize(
    ("survivors", "reason"),
    [
        ([100, 90, 80], "at least 3"),
        ([100, 100, 100, 100], "No customer was lost"),
        ([100, 90, 95, 80], "never increase"),
    ],
)
def test_it_refuses_to_extrapolate_what_cannot_be_fitted(survivors, reason):
    with pytest.raises(CannotFit, match=reason):
        fit_sbg(survivors)


def test_it_maximizes_along_the_free_parameter_when_the_other_is_at_its_bound():
    survivors = [1006] * 10 + [1005]  # one loss in ten periods: β runs to its bound
    fit = fit_sbg(survivors)
    for alpha in np.geomspace(fit.alpha / 3, fit.alpha * 3, 25):
        assert log_likelihood(alpha, fit.beta, survivors) <= fit.log_likelihood + 1e-7
    assert fit.covariance is None  # no interval is claimed at a bound
