"""Ours against the paper: GPO's final return relative to Single and to Joint, per task.

The paper's numbers (its Tables 1 and 2, rllab rewards) ship as ``bench/data/paper-final-returns.csv``.
Absolute returns are not comparable (rllab's and gymnasium's rewards differ), so the table
compares what is: the ratios GPO/Single and GPO/Joint of mean final returns, and the order of the
three methods. Our ratio comes with its 95% Fieller interval, and the difference of GPO's and the
baseline's mean with Welch's and an exact permutation test's p-values (``bench.analysis.stats.compare``:
what holds with 3-5 seeds a cell, where a percentile bootstrap undercovers). A ratio is only
defined where the denominator's mean return is positive (early HalfCheetah returns can be
negative); elsewhere it is n/a.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from bench.analysis import stats
from bench.envs import PAPER_TASKS

# Our algorithm labels for the paper's three methods, per learner.
METHODS = {
    "ppo": {"gpo": "gpo", "single": "single", "joint": "joint"},
    "a2c": {"gpo": "gpo-a2c", "single": "single-a2c", "joint": "joint-a2c"},
}
TASK_OF_ENV = {env_id: task for task, env_id in PAPER_TASKS.items()}


def paper_returns() -> pd.DataFrame:
    """The paper's final returns: learner, task, {gpo,single,joint}_{mean,se}."""
    with resources.files("bench").joinpath("data/paper-final-returns.csv").open() as f:
        return pd.read_csv(f, comment="#")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def order(means: dict[str, float]) -> str:
    """The methods from best to worst mean return: ``gpo > joint > single``."""
    present = {k: v for k, v in means.items() if np.isfinite(v)}
    return " > ".join(sorted(present, key=present.get, reverse=True))


def paper_table(study, finals: pd.DataFrame) -> pd.DataFrame:
    """Per metric × paper task × learner the study ran GPO and Single or Joint on."""
    paper = paper_returns().set_index(["learner", "task"])
    rows = []
    for metric in finals["metric"].unique():
        mine = finals[(finals.metric == metric)].dropna(subset=["final"])
        for learner, labels in METHODS.items():
            if labels["gpo"] not in set(mine.algo):
                continue
            for env in study.suite.envs:
                task = TASK_OF_ENV.get(env)
                if task is None or (learner, task) not in paper.index:
                    continue
                finals_of = {
                    method: mine[(mine.env == env) & (mine.algo == label)]["final"].to_numpy(float)
                    for method, label in labels.items()
                }
                if len(finals_of["gpo"]) == 0 or not (len(finals_of["single"]) or len(finals_of["joint"])):
                    continue
                means = {m: float(np.mean(v)) if len(v) else float("nan") for m, v in finals_of.items()}
                reported = paper.loc[(learner, task)]
                row = {"metric": metric, "task": task, "env": env, "learner": learner}
                for other in ("single", "joint"):
                    row[f"paper_gpo_over_{other}"] = _ratio(reported["gpo_mean"], reported[f"{other}_mean"])
                    row[f"gpo_over_{other}"] = _ratio(means["gpo"], means[other])
                    versus = (
                        stats.compare(finals_of["gpo"], finals_of[other])
                        if len(finals_of[other])
                        else dict.fromkeys(
                            ("ratio_low", "ratio_high", "welch_p", "permutation_p"), float("nan")
                        )
                    )
                    if not np.isfinite(row[f"gpo_over_{other}"]):
                        versus["ratio_low"] = versus["ratio_high"] = float("nan")
                    row[f"gpo_over_{other}_ci_low"] = versus["ratio_low"]
                    row[f"gpo_over_{other}_ci_high"] = versus["ratio_high"]
                    row[f"gpo_vs_{other}_welch_p"] = versus["welch_p"]
                    row[f"gpo_vs_{other}_permutation_p"] = versus["permutation_p"]
                    row[f"{other}_seeds"] = len(finals_of[other])
                row["gpo_seeds"] = len(finals_of["gpo"])
                row["order"] = order(means)
                row["paper_order"] = order(
                    {m: float(reported[f"{m}_mean"]) for m in means if np.isfinite(means[m])}
                )
                rows.append(row)
    return pd.DataFrame(rows)
