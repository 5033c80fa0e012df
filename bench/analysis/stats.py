"""Statistics of a study's final returns: interquartile mean, bootstrap confidence intervals, scores
normalised per task, probability of improvement and performance profiles.

Following Agarwal et al. ("Deep RL at the edge of the statistical precipice", NeurIPS 2021), but
with scipy's bootstrap (the rliable package does not work with pandas 3). Choices:

- Confidence intervals are 95% **percentile** bootstrap intervals (rliable's default; BCa is
  unstable with the 3-8 seeds a study has), ``N_RESAMPLES`` resamples from a fixed seed, so a
  table is the same bit for bit every time it is built.
- Across tasks the bootstrap is **stratified**: seeds are resampled within each task, never
  across tasks (each task is one of scipy's independent samples).
- Fewer than two values: no interval (NaN), never a made-up one.
- With few seeds a percentile bootstrap interval of the mean undercovers: it can never reach past
  the seeds' range, and with 3 seeds it is about that range. ``mean_t_interval`` gives the
  Student-t interval beside it (mean ± t₀.₉₇₅,ₙ₋₁ · SE, which assumes normal returns but widens
  with few seeds as it should); tables show both, and figures draw the t interval.
- Comparisons of two algorithms on one task, at 3-5 seeds a cell (``compare``), use what holds
  there rather than a bootstrap: **Fieller's interval** for the ratio of their mean final
  returns (exact under normal returns; Welch-Satterthwaite degrees of freedom; unbounded when the
  denominator's mean is not clearly above zero, and then reported so), **Welch's t-test** and an
  **exact permutation test** of the difference of means (every split of the pooled seeds: no
  assumption of normality, but its smallest possible p-value is 1 / C(n₁+n₂, n₁) per side, 0.1
  two-sided with 3 seeds each, so at n = 3 it can never reach 0.05; with 5 each it can reach
  0.008). A claim that "A is behind B" is worded by what survives them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_RESAMPLES = 5000
BOOTSTRAP_SEED = 0


def iqm(values, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% (scipy's trim_mean, 25% cut each side)."""
    return stats.trim_mean(values, 0.25, axis=axis)


def _bootstrap(samples: Sequence[np.ndarray], statistic: Callable, axis: int = -1):
    """Percentile interval of ``statistic`` (vectorised, taking ``axis``), each sample resampled
    independently along ``axis``."""
    samples = [np.asarray(s, dtype=float) for s in samples]
    if min(s.shape[axis] for s in samples) < 2:
        nan = np.full(np.shape(statistic(*samples, axis=axis)), np.nan)
        return nan, nan.copy()
    # Identical values: scipy warns that the distribution is degenerate; the interval is the value.
    if all(np.ptp(s) == 0 for s in samples):
        point = np.asarray(statistic(*samples, axis=axis), dtype=float)
        return point, point.copy()
    result = stats.bootstrap(
        samples,
        statistic,
        axis=axis,
        vectorized=True,
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return result.confidence_interval.low, result.confidence_interval.high


def _pooled(statistic: Callable) -> Callable:
    """A statistic of all strata's values together (the strata are resampled separately)."""

    def pooled(*strata, axis=-1):
        return statistic(np.concatenate(strata, axis=axis), axis=axis)

    return pooled


def mean_ci(values) -> tuple[float, float]:
    """95% bootstrap confidence interval of the mean of ``values``."""
    low, high = _bootstrap([values], _pooled(np.mean))
    return float(low), float(high)


def mean_t_interval(values) -> tuple[float, float]:
    """95% Student-t confidence interval of the mean of ``values``: mean ± t(n−1) · std/√n."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    mean, se = float(np.mean(values)), float(stats.sem(values))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df=len(values) - 1)) * se
    return mean - half, mean + half


def mean_t_columns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% Student-t interval of the mean of every column of ``values`` (seeds × points); NaN
    with fewer than two seeds (one seed gives no interval)."""
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    if n < 2:
        nan = np.full(values.shape[1:], np.nan)
        return nan, nan.copy()
    mean = values.mean(axis=0)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df=n - 1)) * values.std(axis=0, ddof=1) / np.sqrt(n)
    return mean - half, mean + half


def iqm_ci(values) -> tuple[float, float]:
    """95% bootstrap confidence interval of the interquartile mean of ``values``."""
    low, high = _bootstrap([values], _pooled(iqm))
    return float(low), float(high)


def stratified_iqm(strata: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """IQM of all values of all strata (tasks) and its stratified 95% bootstrap interval."""
    point = float(iqm(np.concatenate([np.asarray(s, float) for s in strata])))
    low, high = _bootstrap(strata, _pooled(iqm))
    return point, float(low), float(high)


def ratio_of_means_ci(numerator, denominator) -> tuple[float, float]:
    """95% bootstrap interval of mean(numerator) / mean(denominator), the two resampled
    independently (different algorithms' seeds are independent runs)."""

    def ratio(a, b, axis=-1):
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)

    low, high = _bootstrap([numerator, denominator], ratio)
    return float(low), float(high)


def normalise(finals: np.ndarray, worst: float, best: float) -> np.ndarray:
    """Scores in [0, 1] on one task: 0 is the worst final return seen in the study, 1 the best."""
    return (np.asarray(finals, float) - worst) / (best - worst)


def probability_of_improvement(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float, float]:
    """P(X > Y) for runs paired by task and seed: ``pairs`` holds, per task, X's and Y's final
    returns of the same seeds. Each pair scores 1 if X is ahead, ½ on a tie, 0 if behind; the
    probability is the mean over tasks of the mean over that task's seeds (every task weighs the
    same), with a stratified bootstrap interval (seed pairs resampled within each task)."""
    wins = [0.5 * (np.sign(np.asarray(x, float) - np.asarray(y, float)) + 1) for x, y in pairs]

    def mean_over_tasks(*tasks, axis=-1):
        return np.mean([np.mean(t, axis=axis) for t in tasks], axis=0)

    point = float(mean_over_tasks(*wins))
    low, high = _bootstrap(wins, mean_over_tasks)
    return point, float(low), float(high)


def performance_profile(
    strata: Sequence[np.ndarray], taus: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of runs whose normalised score exceeds each τ (every run weighs the same), with a
    stratified 95% bootstrap band."""
    taus = np.asarray(taus, float)

    def fraction_above(scores, axis=-1):
        scores = np.moveaxis(np.asarray(scores), axis, -1)
        above = np.mean(scores[..., None, :] > taus[:, None], axis=-1)  # (..., τ)
        return np.moveaxis(above, -1, 0)  # scipy wants a vector statistic's own axis first

    point = fraction_above(np.concatenate([np.asarray(s, float) for s in strata]))
    low, high = _bootstrap(strata, _pooled(fraction_above))
    return point, np.broadcast_to(low, taus.shape), np.broadcast_to(high, taus.shape)


def ratio_fieller(numerator, denominator) -> tuple[float, float]:
    """95% Fieller interval of mean(numerator) / mean(denominator), two independent samples.

    The set of ratios ρ that a t-test of mean(a) − ρ·mean(b) = 0 does not reject: the roots of
    (ā − ρ b̄)² = t² (v_a + ρ² v_b), v = s²/n, with Welch-Satterthwaite degrees of freedom for
    a − ρ̂ b. When b̄² ≤ t² v_b (the denominator's mean is not clearly away from zero) the set is
    unbounded: (−inf, inf). NaN with fewer than two values on either side."""
    a, b = np.asarray(numerator, float), np.asarray(denominator, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan")
    mean_a, mean_b = float(np.mean(a)), float(np.mean(b))
    var_a, var_b = float(np.var(a, ddof=1)) / len(a), float(np.var(b, ddof=1)) / len(b)
    ratio = mean_a / mean_b if mean_b != 0 else 0.0
    spread = var_a**2 / (len(a) - 1) + ratio**4 * var_b**2 / (len(b) - 1)
    df = (var_a + ratio**2 * var_b) ** 2 / spread if spread > 0 else float(len(a) + len(b) - 2)
    t2 = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df=df)) ** 2
    quad = mean_b**2 - t2 * var_b
    if quad <= 0:
        return float("-inf"), float("inf")
    disc = (mean_a * mean_b) ** 2 - quad * (mean_a**2 - t2 * var_a)
    root = float(np.sqrt(max(disc, 0.0)))
    return (mean_a * mean_b - root) / quad, (mean_a * mean_b + root) / quad


def welch_p(a, b) -> float:
    """Two-sided p-value of Welch's t-test of equal means (NaN with fewer than two values a side,
    or no spread at all)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):
        return float("nan")
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def permutation_p(a, b) -> float:
    """Two-sided p-value of the exact permutation test of the difference of means: the share of
    all C(n₁+n₂, n₁) splits of the pooled values whose |difference| reaches the observed one (past
    200,000 splits, that many random ones from a fixed seed). NaN with an empty side."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 1 or len(b) < 1:
        return float("nan")
    pooled, n = np.concatenate([a, b]), len(a)
    if math.comb(len(pooled), n) <= 200_000:
        picks = np.array(list(itertools.combinations(range(len(pooled)), n)))
    else:
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        picks = np.argsort(rng.random((200_000, len(pooled))), axis=1)[:, :n]
    chosen = np.zeros((len(picks), len(pooled)), dtype=bool)
    np.put_along_axis(chosen, picks, True, axis=1)
    total = pooled.sum()
    first = (chosen * pooled).sum(axis=1)
    differences = np.abs(first / n - (total - first) / (len(pooled) - n))
    observed = abs(a.mean() - b.mean())
    # a split as extreme as the observed one, up to rounding of the same sums in another order
    return float(np.mean(differences >= observed - 1e-9 * max(1.0, abs(observed))))


def compare(a, b) -> dict:
    """A against B on one task from their seeds' final returns: the ratio of means with its
    Fieller interval, the difference of means with its Welch interval, and both tests' p-values."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    mean_a, mean_b = float(np.mean(a)), float(np.mean(b))
    low, high = ratio_fieller(a, b) if mean_b > 0 else (float("nan"), float("nan"))
    diff_low = diff_high = float("nan")
    if len(a) >= 2 and len(b) >= 2:
        diff = stats.ttest_ind(a, b, equal_var=False).confidence_interval(CONFIDENCE)
        diff_low, diff_high = float(diff.low), float(diff.high)
    return {
        "ratio": mean_a / mean_b if mean_b > 0 else float("nan"),
        "ratio_low": low,
        "ratio_high": high,
        "difference": mean_a - mean_b,
        "difference_low": diff_low,
        "difference_high": diff_high,
        "welch_p": welch_p(a, b),
        "permutation_p": permutation_p(a, b),
    }
