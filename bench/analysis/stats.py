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
  with few seeds as it should); tables show both.
"""

from __future__ import annotations

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


def iqm_ci(values) -> tuple[float, float]:
    """95% bootstrap confidence interval of the interquartile mean of ``values``."""
    low, high = _bootstrap([values], _pooled(iqm))
    return float(low), float(high)


def mean_ci_columns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% bootstrap interval of the mean of every column of ``values`` (seeds × points), the
    seeds resampled together, as whole curves."""
    return _bootstrap([values], np.mean, axis=0)


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
