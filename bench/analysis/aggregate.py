"""A study's tables, from its runs' Parquet files, into ``<results>/<suite>/tables/``.

Two metrics, chosen with ``--metric``:

- ``train``: the best member's mean training-episode return (``return_best``; a run of one
  policy, such as Joint or PPO, has only its own ``return_mean``). The paper reports the best
  policy of a population, for GPO and for Single alike.
- ``eval``: ``eval_return``, the deterministic evaluation of the best member (5 episodes, made
  after every 20,480 per-policy env steps, ``bench.runs.algorithms.EVAL_EVERY_STEPS``, at the end
  of every GPO phase, and at the end of the run).

Files:

- ``curves.parquet`` (long format: suite, algo, env, seed, env_steps, metric, value, plus
  ``policies`` and ``total_env_steps``): every run's curve **resampled onto a common grid**,
  ``GRID_POINTS`` evenly spaced points from budget/``GRID_POINTS`` to the suite's per-policy
  budget. ``env_steps`` is counted **per policy**, the paper's unit: a run of m policies (GPO,
  Single, Joint) has then used m × ``env_steps`` = ``total_env_steps``, so every algorithm of a
  suite ends at the same x and comparisons are at equal samples. Resampling is linear
  interpolation between a run's recorded points of that metric; grid points before its first or
  after its last recorded point stay empty (never extrapolated).
- ``runs.parquet``: every finished run's final return per metric: the mean of the last
  ``last`` grid points of its resampled curve (default 5, the last 5% of the budget; the same
  stretch of training for every algorithm, however densely it records).
- ``final.parquet`` (+ ``final.md``, ``final.tex``), per metric × env × algo: mean, standard
  error (std/√n) and std (n−1) over seeds, the interquartile mean, 95% bootstrap intervals of the
  mean and of the IQM and the Student-t interval of the mean (``bench.analysis.stats``), seeds finished
  and seeds the suite asks for.
- ``overall.parquet`` (+ ``.md``, ``.tex``), per metric × algo, across tasks: each task's final
  returns normalised to [0, 1] by the worst and best final return of any run of the study on that
  task; the IQM of all runs' scores with a stratified bootstrap interval; and the probability
  that the reference algorithm (``gpo`` by default) beats each other one, paired by task and seed.
- ``paper.parquet`` (+ ``.md``, ``.tex``) when the study has GPO and Single or Joint on the
  paper's tasks: ``bench.analysis.paper``.
- ``ledger.parquet`` (+ ``.md``): every finished run's commit, attempts, start, end and
  core-seconds against ``--dry-run``'s estimate: ``bench.analysis.ledger``.
- ``crossovers.parquet`` (+ ``.md``) when runs crossed over: children right after crossover
  against their parents, round by round: ``bench.analysis.crossovers``.

Runs that did not finish, or whose ``run.json`` records another configuration than the suite
asks for (another budget, say), are left out and reported, never averaged in; a file that cannot
be read is reported by name and the other runs still aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.analysis import stats
from bench.analysis.crossovers import crossover_markdown, crossover_table
from bench.analysis.ledger import ledger_markdown, ledger_table
from bench.analysis.paper import paper_table
from bench.analysis.report import latex, markdown
from bench.analysis.study import KEYS, Study, load_study, run_keys  # noqa: F401  (imported from here too)
from bench.runs.results import CURVE_FILE, write_parquet, write_text
from bench.runs.suite import Run, Suite

METRICS = ("train", "eval")
GRID_POINTS = 100
LAST_POINTS = 5


class AggregateError(ValueError):
    """Nothing to aggregate (no finished run), or an option out of range."""


def metric_column(curve: pd.DataFrame, metric: str) -> pd.Series:
    """The raw curve's column for ``metric`` (see the module's docstring)."""
    if metric == "eval":
        return curve["eval_return"] if "eval_return" in curve else pd.Series(np.nan, index=curve.index)
    if "return_best" in curve and curve["return_best"].notna().any():
        return curve["return_best"]
    return curve["return_mean"]


def grid(steps_per_policy: int, points: int = GRID_POINTS) -> np.ndarray:
    """The common grid, in env steps per policy."""
    return np.linspace(steps_per_policy / points, steps_per_policy, points)


def resample(steps: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of the points (steps, values) at ``at``; NaN outside the recorded
    range and where nothing was recorded. Points recorded at the same step: the last one counts."""
    keep = ~np.isnan(values)
    points = pd.Series(values[keep], index=steps[keep]).groupby(level=0).last()
    if points.empty:
        return np.full(len(at), np.nan)
    return np.interp(at, points.index.to_numpy(float), points.to_numpy(float), left=np.nan, right=np.nan)


def policies_of(run: Run) -> int:
    """How many policies' budgets the run spends (m for GPO, Single and Joint, 1 for PPO)."""
    return run.spec().env_steps // run.steps_per_policy


def curves_table(study: Study, points: int = GRID_POINTS) -> pd.DataFrame:
    """Every finished run's curves on the common grid, long format (see the module's docstring)."""
    at = grid(study.suite.steps_per_policy, points)
    frames = []
    for run in list(study.finished):
        curve = study._read(run.folder(study.results) / CURVE_FILE)
        if curve is None:
            study.finished.remove(run)
            continue
        policies = policies_of(run)
        per_policy = curve["env_steps"].to_numpy(float) / policies
        for metric in METRICS:
            values = resample(per_policy, metric_column(curve, metric).to_numpy(float), at)
            frames.append(
                pd.DataFrame(
                    {
                        **run_keys(run),
                        "env_steps": at,
                        "metric": metric,
                        "value": values,
                        "policies": policies,
                        "total_env_steps": at * policies,
                    }
                )
            )
    columns = [*KEYS, "env_steps", "metric", "value", "policies", "total_env_steps"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


BANDS = ("ci", "iqr")


def curve_bands(curves: pd.DataFrame, metric: str, band: str = "ci") -> pd.DataFrame:
    """Per algo × env × grid point, over seeds: ``ci``, the mean and its 95% Student-t interval
    (a percentile bootstrap cannot pass the seeds' range and undercovers at 3-5 seeds; none with
    one seed); ``iqr``, the median and the interquartile range. Only points where
    every finished seed of that algo and env has a value are kept, so the line never jumps where
    one seed's record starts."""
    if band not in BANDS:
        raise AggregateError(f"--band: unknown {band!r}; accepted: {', '.join(BANDS)}")
    rows = []
    for (algo, env), cell in curves[curves.metric == metric].groupby(["algo", "env"], sort=False):
        table = cell.pivot(index="seed", columns="env_steps", values="value").dropna(axis=1)
        if table.empty:
            continue
        values = table.to_numpy(float)
        if band == "ci":
            centre = values.mean(axis=0)
            low, high = stats.mean_t_columns(values)
        else:
            low, centre, high = np.percentile(values, [25, 50, 75], axis=0)
        rows.append(
            pd.DataFrame(
                {
                    "algo": algo,
                    "env": env,
                    "env_steps": table.columns.to_numpy(float),
                    "centre": centre,
                    "low": low,
                    "high": high,
                    "seeds": len(values),
                }
            )
        )
    columns = ["algo", "env", "env_steps", "centre", "low", "high", "seeds"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def run_finals(curves: pd.DataFrame, last: int = LAST_POINTS) -> pd.DataFrame:
    """Per run and metric: the mean of the last ``last`` grid points of its resampled curve
    (NaN if the run recorded nothing there, e.g. no evaluation in the last stretch)."""
    if last < 1:
        raise AggregateError(f"--last must be >= 1 grid point, got {last}")
    ordered = curves.sort_values([*KEYS, "metric", "env_steps"])
    tail = ordered.groupby([*KEYS, "metric"], sort=False).tail(last)
    finals = tail.groupby([*KEYS, "metric"], sort=False)["value"].mean().rename("final")
    return finals.reset_index()


def summarise(values: np.ndarray) -> dict:
    """Mean ± standard error, std, IQM and their 95% bootstrap intervals of one cell's seeds, and
    the Student-t interval of the mean (the bootstrap's undercovers with few seeds)."""
    n = len(values)
    std = float(np.std(values, ddof=1)) if n > 1 else float("nan")
    ci = stats.mean_ci(values)
    t_ci = stats.mean_t_interval(values)
    iqm_ci = stats.iqm_ci(values)
    return {
        "mean": float(np.mean(values)),
        "se": std / np.sqrt(n),
        "std": std,
        "iqm": float(stats.iqm(values)),
        "ci_low": ci[0],
        "ci_high": ci[1],
        "t_ci_low": t_ci[0],
        "t_ci_high": t_ci[1],
        "iqm_ci_low": iqm_ci[0],
        "iqm_ci_high": iqm_ci[1],
        "seeds": n,
    }


def final_table(study: Study, finals: pd.DataFrame) -> pd.DataFrame:
    """Per metric × env × algo (in the suite's order), the statistics of its seeds' finals."""
    rows = []
    for metric in METRICS:
        for env in study.suite.envs:
            for algo in algo_labels(study.suite):
                cell = finals[(finals.metric == metric) & (finals.env == env) & (finals.algo == algo)]
                values = cell["final"].dropna().to_numpy(float)
                if len(values) == 0:
                    continue
                rows.append(
                    {"metric": metric, "env": env, "algo": algo, **summarise(values)}
                    | {"seeds_asked": study.expected_seeds(env)}
                )
    return pd.DataFrame(rows)


def algo_labels(suite: Suite) -> list[str]:
    """The suite's algorithm labels in its order (``gpo-m4`` ... when it varies m)."""
    return list(dict.fromkeys(run.algo_label for run in suite.runs()))


def default_reference(labels: list[str]) -> str:
    """``gpo`` if the study has it, else ``gpo-a2c``, else its first GPO label, else the first."""
    for name in ("gpo", "gpo-a2c"):
        if name in labels:
            return name
    return next((label for label in labels if label.startswith("gpo")), labels[0])


def normalised_scores(finals: pd.DataFrame) -> pd.DataFrame:
    """``finals`` with a ``score`` column: each (metric, env)'s finals mapped to [0, 1] by the
    worst and best of them. A task where every run ends equal has no scale and is left out."""
    frames = []
    for _, task in finals.dropna(subset=["final"]).groupby(["metric", "env"], sort=False):
        worst, best = task["final"].min(), task["final"].max()
        if best > worst:
            frames.append(task.assign(score=stats.normalise(task["final"], worst, best)))
    return pd.concat(frames, ignore_index=True) if frames else finals.assign(score=np.nan).iloc[:0]


def by_task(scores: pd.DataFrame) -> list[np.ndarray]:
    """One algorithm's normalised scores split by task: the strata of a stratified bootstrap."""
    return [task["score"].to_numpy(float) for _, task in scores.groupby("env", sort=False)]


def profile_table(scores: pd.DataFrame, metric: str, points: int = 101) -> pd.DataFrame:
    """Per algo and τ in [0, 1]: the fraction of its runs whose normalised score exceeds τ, with a
    stratified 95% bootstrap band (the performance profile)."""
    taus = np.linspace(0.0, 1.0, points)
    frames = []
    scores = scores[scores.metric == metric]
    for algo, mine in scores.groupby("algo", sort=False):
        strata = by_task(mine)
        fraction, low, high = stats.performance_profile(strata, taus)
        frames.append(
            pd.DataFrame({"algo": algo, "tau": taus, "fraction": fraction, "low": low, "high": high})
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def overall_table(study: Study, finals: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Per metric × algo, across tasks: IQM of normalised scores with a stratified bootstrap
    interval, and P(reference > algo) paired by task and seed (see the module's docstring)."""
    labels = algo_labels(study.suite)
    reference = reference or default_reference(labels)
    if reference not in labels:
        raise AggregateError(f"--reference: {reference!r} is not in the study; it has: {', '.join(labels)}")
    scores = normalised_scores(finals)
    rows = []
    for metric in METRICS:
        metric_scores = scores[scores.metric == metric]
        for algo in labels:
            mine = metric_scores[metric_scores.algo == algo]
            if mine.empty:
                continue
            strata = by_task(mine)
            point, low, high = stats.stratified_iqm(strata)
            row = {
                "metric": metric,
                "algo": algo,
                "tasks": len(strata),
                "runs": len(mine),
                "iqm": point,
                "iqm_ci_low": low,
                "iqm_ci_high": high,
                "mean": float(mine["score"].mean()),
                "reference": reference,
            }
            row.update(_improvement(metric_scores, reference, algo))
            rows.append(row)
    return pd.DataFrame(rows)


def _improvement(scores: pd.DataFrame, reference: str, algo: str) -> dict:
    """P(reference > algo) over the (task, seed) pairs both finished."""
    nan = {"p_reference_better": np.nan, "p_ci_low": np.nan, "p_ci_high": np.nan, "pairs": 0}
    if algo == reference:
        return nan
    mine = scores[scores.algo == reference].set_index(["env", "seed"])["final"]
    theirs = scores[scores.algo == algo].set_index(["env", "seed"])["final"]
    both = pd.concat({"x": mine, "y": theirs}, axis=1, join="inner")
    if both.empty:
        return nan
    pairs = [
        (task["x"].to_numpy(), task["y"].to_numpy()) for _, task in both.groupby(level="env", sort=False)
    ]
    point, low, high = stats.probability_of_improvement(pairs)
    return {"p_reference_better": point, "p_ci_low": low, "p_ci_high": high, "pairs": len(both)}


@dataclass
class Tables:
    study: Study
    curves: pd.DataFrame
    runs: pd.DataFrame
    final: pd.DataFrame
    overall: pd.DataFrame
    paper: pd.DataFrame
    ledger: pd.DataFrame = field(default_factory=pd.DataFrame)  # bench.analysis.ledger
    crossovers: pd.DataFrame = field(default_factory=pd.DataFrame)  # bench.analysis.crossovers


def build_tables(study: Study, last: int = LAST_POINTS, reference: str | None = None) -> Tables:
    curves = curves_table(study)
    if not study.finished:
        return Tables(study, curves, *(pd.DataFrame() for _ in range(4)))
    finals = run_finals(curves, last)
    return Tables(
        study,
        curves,
        finals,
        final_table(study, finals),
        overall_table(study, finals, reference),
        paper_table(study, finals),
        ledger_table(study),
        crossover_table(study),
    )


def write_tables(tables: Tables) -> Path:
    """Write every table (Parquet, and Markdown and LaTeX for the readable ones), atomically."""
    folder = tables.study.results / tables.study.suite.name / "tables"
    write_parquet(folder / "curves.parquet", tables.curves)
    write_parquet(folder / "runs.parquet", tables.runs)
    for name, frame in (("final", tables.final), ("overall", tables.overall), ("paper", tables.paper)):
        if frame.empty:
            continue
        write_parquet(folder / f"{name}.parquet", frame)
        write_text(folder / f"{name}.md", markdown(name, frame))
        write_text(folder / f"{name}.tex", latex(name, frame))
    if not tables.ledger.empty:
        write_parquet(folder / "ledger.parquet", tables.ledger)
        write_text(folder / "ledger.md", ledger_markdown(tables.ledger))
    if not tables.crossovers.empty:
        write_parquet(folder / "crossovers.parquet", tables.crossovers)
        write_text(folder / "crossovers.md", crossover_markdown(tables.crossovers))
    return folder
