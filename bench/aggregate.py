"""Tables of a suite's results: ``<results>/<suite>/tables/curves.parquet`` and ``final.parquet``.

- ``curves.parquet``: every finished run's curve in long format (suite, algo, env, seed,
  env_steps, metric, value) for the metrics ``return_mean`` (training episodes), ``return_best``
  (the best member's, population runs) and ``eval_return`` (deterministic evaluations), at the
  run's own env steps.
- ``final.parquet``: a row per finished run: its final evaluation return (the last evaluation)
  and final training return (the mean of ``return_mean`` over the last ``FINAL_FRACTION`` of its
  rows).
Runs that did not finish are left out and reported, never averaged in; a file that cannot be
read is reported by name and the other runs still aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.results import CURVE_FILE, is_done, write_parquet
from bench.suite import Suite

METRICS = ("return_mean", "return_best", "eval_return")
FINAL_FRACTION = 0.1


@dataclass
class Aggregate:
    curves: pd.DataFrame
    final: pd.DataFrame
    unfinished: list[str] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Per env × algo: mean ± standard error over seeds of the final evaluation return."""
        grouped = self.final.groupby(["env", "algo"])["final_eval_return"]
        table = grouped.agg(["mean", "std", "count"]).rename(columns={"count": "seeds"})
        table["se"] = table["std"] / np.sqrt(table["seeds"])
        return table[["mean", "se", "std", "seeds"]].reset_index()


def aggregate(suite: Suite, results: Path) -> Aggregate:
    curves, finals, unfinished, unreadable = [], [], [], []
    for run in suite.runs():
        folder = run.folder(results)
        if not is_done(folder):
            unfinished.append(run.name)
            continue
        try:
            curve = pd.read_parquet(folder / CURVE_FILE)
        except Exception as error:  # a corrupt or truncated file: report it, go on
            unreadable.append((folder / CURVE_FILE, f"{type(error).__name__}: {error}"))
            continue
        keys = {"suite": suite.name, "algo": run.algo_label, "env": run.env, "seed": run.seed}
        metrics = [m for m in METRICS if m in curve]
        long = curve.melt(id_vars=["env_steps"], value_vars=metrics, var_name="metric")
        curves.append(long.dropna(subset=["value"]).assign(**keys))
        tail = curve["return_mean"].dropna()
        tail = tail.iloc[-max(1, int(np.ceil(FINAL_FRACTION * len(tail)))) :]
        evals = curve["eval_return"].dropna() if "eval_return" in curve else pd.Series(dtype=float)
        finals.append(
            {
                **keys,
                "env_steps": int(curve["env_steps"].iloc[-1]),
                "final_eval_return": float(evals.iloc[-1]) if len(evals) else float("nan"),
                "final_train_return": float(tail.mean()) if len(tail) else float("nan"),
            }
        )
    columns = ["suite", "algo", "env", "seed", "env_steps", "metric", "value"]
    curves_frame = pd.concat(curves)[columns] if curves else pd.DataFrame(columns=columns)
    return Aggregate(curves_frame.reset_index(drop=True), pd.DataFrame(finals), unfinished, unreadable)


def write_tables(result: Aggregate, suite: Suite, results: Path) -> Path:
    tables = Path(results) / suite.name / "tables"
    write_parquet(tables / "curves.parquet", result.curves)
    write_parquet(tables / "final.parquet", result.final)
    return tables
