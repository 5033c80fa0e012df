"""A study's crossover records, round by round: how good is a child right after crossover, against
the two parents it was made from?

Every GPO crossover writes a row to its run's ``crossovers.parquet``: the round, the kind (state
space, GPO's imitation, or parameter space, the ablation), the child's evaluation return right
after crossover and its parents' evaluation returns at the end of the mutation phase before it
(the same evaluation: deterministic policy, the run's evaluation episodes). This table follows
the paper's Figure 2a past the first round: per algorithm × task × kind × round,

- ``child``, ``better_parent``, ``mean_parent``: mean returns of the children and of their
  better and their average parent;
- ``gap_better`` ± ``gap_better_se``: child − better parent, and ``gap_mean`` ± ``gap_mean_se``:
  child − average of the two parents;
- ``above_weaker``, ``above_better``: the share of children at least as good as their weaker,
  or their better, parent;
- ``selector_accuracy``, ``imitation_kl``: the selector's accuracy on its parents' labels and
  the child's final imitation loss (KL to the hybrid policy), means;
- ``hybrid`` and ``hybrid_gap_better``: the hybrid π_H's own return (deterministic, its own
  episodes; runs made before it was recorded have NaN) and π_H − better parent. π_H above the
  better parent with the child below it: imitation loses what the selector found; π_H at the
  parents' mean: the selector finds nothing to combine.

The unit of replication is the run (the seed), not the child: a run's children share parents
and a round's state, so each run's children are averaged first, and the standard errors are
over runs (NaN with one run). Written by ``gpo-bench aggregate`` as ``tables/crossovers.parquet``
and ``.md``; ``gpo-bench plot`` draws ``gap_better`` and ``gap_mean`` by round.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.analysis.study import Study

KINDS = {"state": "state space", "parameter": "parameter space"}
GROUP = ["algo", "env", "kind", "round"]


def _per_run(crossovers: pd.DataFrame) -> pd.DataFrame:
    """Per run and round, the means over its children of the returns and the gaps."""
    parents = crossovers[["parent_x_return", "parent_y_return"]].to_numpy(float)
    child = crossovers["child_return"].to_numpy(float)
    better, mean = parents.max(axis=1), parents.mean(axis=1)
    hybrid = crossovers.get("hybrid_return", pd.Series(np.nan, index=crossovers.index)).to_numpy(float)
    rows = crossovers.assign(
        hybrid=hybrid,
        hybrid_gap_better=hybrid - better,
        child=child,
        better_parent=better,
        mean_parent=mean,
        gap_better=child - better,
        gap_mean=child - mean,
        above_weaker=(child >= parents.min(axis=1)).astype(float),
        above_better=(child >= better).astype(float),
    )
    columns = [
        "child",
        "better_parent",
        "mean_parent",
        "gap_better",
        "gap_mean",
        "above_weaker",
        "above_better",
        "selector_accuracy",
        "imitation_kl",
        "hybrid",
        "hybrid_gap_better",
    ]
    return rows.groupby([*GROUP, "seed"], sort=False)[columns].mean().reset_index()


def _se(values: pd.Series) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def crossover_table(study: Study) -> pd.DataFrame:
    """One row per algo × env × kind × round over the study's finished runs (empty if none
    crossed over), in the suite's task order."""
    crossovers = study.table("crossovers.parquet")
    if crossovers.empty or "kind" not in crossovers:
        return pd.DataFrame()
    crossovers = crossovers[crossovers["kind"].isin(KINDS)]
    if crossovers.empty:
        return pd.DataFrame()
    # runs without crossovers (gpo-no-crossover) have empty files, which upcast the concatenation
    crossovers = crossovers.astype({"round": int, "seed": int})
    runs = _per_run(crossovers)
    grouped = runs.groupby(GROUP, sort=False)
    table = grouped.agg(
        runs=("seed", "nunique"),
        child=("child", "mean"),
        better_parent=("better_parent", "mean"),
        mean_parent=("mean_parent", "mean"),
        gap_better=("gap_better", "mean"),
        gap_better_se=("gap_better", _se),
        gap_mean=("gap_mean", "mean"),
        gap_mean_se=("gap_mean", _se),
        above_weaker=("above_weaker", "mean"),
        above_better=("above_better", "mean"),
        selector_accuracy=("selector_accuracy", "mean"),
        imitation_kl=("imitation_kl", "mean"),
        hybrid=("hybrid", "mean"),
        hybrid_gap_better=("hybrid_gap_better", "mean"),
    ).reset_index()
    children = crossovers.groupby(GROUP, sort=False).size().rename("children").reset_index()
    table = table.merge(children, on=GROUP)
    order = {env: i for i, env in enumerate(study.suite.envs)}
    return table.sort_values(
        ["env", "algo", "kind", "round"], key=lambda c: c.map(order) if c.name == "env" else c
    )


def crossover_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, one section per task."""

    def pm(mean: float, se: float) -> str:
        return f"{mean:+.0f}" + ("" if np.isnan(se) else f" ± {se:.0f}")

    lines = [
        "### Children right after crossover against their parents, by round (evaluation return)",
        "",
        "Per run, the mean over its children; then the mean (± SE over runs) over runs. "
        "`≥ weaker`/`≥ better`: share of children at least as good as that parent.",
    ]
    for (algo, env, kind), rows in table.groupby(["algo", "env", "kind"], sort=False):
        # π_H's columns only where its runs recorded it (none before issue #44)
        hybrid = "hybrid" in rows and rows["hybrid"].notna().any()
        lines += [
            "",
            f"#### {env}, {algo}, {KINDS[kind]} crossover",
            "",
            "| round | runs | children | child | better parent | child − better parent | "
            "child − mean parent | ≥ weaker | ≥ better | selector accuracy | imitation KL |"
            + (" π_H | π_H − better parent |" if hybrid else ""),
            "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if hybrid else ""),
        ]
        for row in rows.itertuples():
            lines.append(
                f"| {row.round} | {row.runs} | {row.children} | {row.child:.0f} | {row.better_parent:.0f} | "
                f"{pm(row.gap_better, row.gap_better_se)} | {pm(row.gap_mean, row.gap_mean_se)} | "
                f"{row.above_weaker:.2f} | {row.above_better:.2f} | {row.selector_accuracy:.3f} | "
                f"{row.imitation_kl:.3f} |"
                + (f" {row.hybrid:.0f} | {row.hybrid_gap_better:+.0f} |" if hybrid else "")
            )
    return "\n".join(lines) + "\n"
