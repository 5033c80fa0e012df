"""Intervals and tests that hold at the 3-5 seeds a study has per cell (bench.analysis.stats)."""

import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench.analysis import stats


def coverage(interval, truth, draws, n, rng) -> float:
    hits = 0
    for _ in range(draws):
        a, b = rng.normal(100, 15, n), rng.normal(80, 10, n)
        low, high = interval(a, b)
        hits += low <= truth <= high
    return hits / draws


def test_fiellers_interval_covers_the_ratio_at_three_seeds_where_the_bootstrap_does_not():
    rng = np.random.default_rng(7)
    fieller = coverage(stats.ratio_fieller, 100 / 80, 1500, 3, rng)
    assert 0.93 <= fieller <= 0.98
    bootstrap = coverage(stats.ratio_of_means_ci, 100 / 80, 300, 3, np.random.default_rng(7))
    assert bootstrap < 0.85  # why the tables no longer quote it for a ratio


def test_fiellers_bounds_are_where_the_t_test_of_a_minus_rho_b_stops_rejecting():
    a, b = np.array([4400.0, 4700.0, 4500.0]), np.array([4900.0, 5200.0, 4650.0])
    low, high = stats.ratio_fieller(a, b)
    assert low < a.mean() / b.mean() < high
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 3
    rho = a.mean() / b.mean()
    df = (va + rho**2 * vb) ** 2 / (va**2 / 2 + rho**4 * vb**2 / 2)
    t = scipy_stats.t.ppf(0.975, df)
    for bound in (low, high):
        assert abs(a.mean() - bound * b.mean()) / np.sqrt(va + bound**2 * vb) == pytest.approx(t, rel=1e-9)


def test_a_denominator_not_clearly_above_zero_gives_an_unbounded_interval():
    assert stats.ratio_fieller([1.0, 2.0, 3.0], [-50.0, 10.0, 60.0]) == (-np.inf, np.inf)
    assert np.isnan(stats.ratio_fieller([1.0], [2.0, 3.0])[0])


def test_the_exact_permutation_test_counts_every_split_of_the_seeds():
    # fully separated: only the observed split and its mirror reach the difference
    assert stats.permutation_p([5.0, 6.0, 7.0], [1.0, 2.0, 3.0]) == pytest.approx(2 / 20)
    assert stats.permutation_p([6.0, 7, 8, 9, 10], [1.0, 2, 3, 4, 5]) == pytest.approx(2 / 252)
    assert stats.permutation_p([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(1.0)


def test_compare_gives_the_ratio_the_difference_and_both_tests():
    a, b = [4400.0, 4700.0, 4500.0], [4900.0, 5200.0, 4650.0]
    result = stats.compare(a, b)
    assert result["ratio"] == pytest.approx(np.mean(a) / np.mean(b))
    assert result["difference_low"] < result["difference"] < result["difference_high"]
    assert result["welch_p"] == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    pooled, observed = np.array(a + b), abs(np.mean(a) - np.mean(b))
    splits = [
        abs(pooled[list(i)].mean() - np.delete(pooled, list(i)).mean()) >= observed - 1e-9
        for i in itertools.combinations(range(6), 3)
    ]
    assert result["permutation_p"] == pytest.approx(np.mean(splits))  # 4 of the 20 splits
    # the difference's Welch interval excludes 0 exactly when Welch's p is below 0.05
    assert (result["difference_high"] < 0) == (result["welch_p"] < 0.05)


def test_the_t_interval_per_grid_point_needs_two_seeds():
    low, high = stats.mean_t_columns(np.array([[1.0, 2.0]]))
    assert np.isnan(low).all() and np.isnan(high).all()
    values = np.array([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]])
    low, high = stats.mean_t_columns(values)
    expected = [scipy_stats.t.interval(0.95, 2, loc=c.mean(), scale=scipy_stats.sem(c)) for c in values.T]
    assert np.allclose(low, [e[0] for e in expected]) and np.allclose(high, [e[1] for e in expected])
