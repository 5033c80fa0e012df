"""A synthetic study written to Parquet: curves whose final returns the tests know exactly.

Algorithms gpo, gpo-param-crossover, single and joint (m = 2) on three of the paper's tasks,
4 seeds. Every curve is a straight line from 0 to its run's ``level`` at the end of the budget,
so its resampled values, and hence its final return, are known in closed form:

    level = BASE[algo] × SCALE[env] + 10 × seed

GPO is ahead of the others on every task and every seed. Single's seed 3 on Hopper never
finished (run.json says running), so that cell has 3 of 4 seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.runs.results import write_json, write_parquet
from bench.runs.suite import load_suite

SUITE = """
description = "synthetic study"
algorithms = ["gpo", "gpo-param-crossover", "single", "joint"]
envs = ["Hopper-v5", "HalfCheetah-v5", "Walker2d-v5"]
seeds = 4
steps_per_policy = 61440
population = 2
rounds = 2
"""
BASE = {"gpo": 300.0, "gpo-param-crossover": 150.0, "single": 100.0, "joint": 200.0}
SCALE = {"Hopper-v5": 1.0, "HalfCheetah-v5": 3.0, "Walker2d-v5": 2.0}
POLICIES = 2
UNFINISHED = ("single", "Hopper-v5", 3)


def level(algo: str, env: str, seed: int) -> float:
    return BASE[algo] * SCALE[env] + 10.0 * seed


def write_study(tmp_path):
    """(suite path, suite, results folder)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "synthetic.toml"
    path.write_text(SUITE)
    suite = load_suite(str(path))
    results = tmp_path / "results"
    budget = suite.steps_per_policy
    for run in suite.runs():
        folder = run.folder(results)
        top = level(run.algo, run.env, run.seed)
        per_policy = np.arange(1, 31) * budget / 30  # 30 learner iterations
        line = top * per_policy / budget
        curve = pd.DataFrame(
            {
                "env_steps": (per_policy * POLICIES).astype(int),
                "return_mean": line - 5.0,
                "eval_return": np.where(np.arange(1, 31) % 6 == 0, line, np.nan),  # every 6th
            }
        )
        if run.algo != "joint":  # a population records its best member; Joint is one policy
            curve["return_best"] = line
        write_parquet(folder / "curve.parquet", curve)
        finished = (run.algo, run.env, run.seed) != UNFINISHED
        write_json(folder / "run.json", {"status": "done" if finished else "running"})
        if run.algo in ("gpo", "single"):
            write_parquet(
                folder / "members.parquet",
                pd.DataFrame(
                    {"member": [0, 1], "eval_return": [top, top - 50], "train_return": [top, top - 60]}
                ),
            )
        if run.algo.startswith("gpo"):
            kind = "state" if run.algo == "gpo" else "parameter"
            write_parquet(folder / "crossovers.parquet", crossover_records(kind, run.seed))
        elif run.algo == "joint":  # as gpo-no-crossover writes: an empty file
            write_parquet(folder / "crossovers.parquet", pd.DataFrame())
    return path, suite, results


def crossover_records(kind: str, seed: int) -> pd.DataFrame:
    """Two rounds of two children; round 0's first parent returns 100 and its children 1.02 and
    0.98 of that in state space, 0.2 and -0.1 in parameter space; round 1's children are 10 × the
    seed above the average of their parents (200 and 150). State-space crossovers record their
    hybrids' returns (120, 110, then 210, 190); parameter-space ones have no such column, as runs
    made before it was recorded."""
    child = [1.02, 0.98] if kind == "state" else [0.2, -0.1]
    hybrid = {"hybrid_return": [120.0, 110.0, 210.0, 190.0]} if kind == "state" else {}
    return pd.DataFrame(
        {
            "round": [0, 0, 1, 1],
            "child": [0, 1, 0, 1],
            "kind": kind,
            "parent_x_return": [100.0, 100.0, 200.0, 200.0],
            "parent_y_return": [80.0, 80.0, 150.0, 150.0],
            "child_return": [100.0 * c for c in child] + [175.0 + 10 * seed] * 2,
            "selector_accuracy": [0.9, 0.7, 0.8, 0.6],
            "imitation_kl": [0.1, 0.3, 0.2, 0.2],
            **hybrid,
        }
    )
