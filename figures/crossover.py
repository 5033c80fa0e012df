"""The paper's Figure 2a: how good is a child right after crossover? Each first-round child's
evaluation return, normalised to its first parent's, for crossover in state space (GPO's
imitation) and in parameter space (the ablation that averages weights).

Normalisation: ``1 + (child − parent) / |parent|``, which is child/parent when the parent's
return is positive (1 = as good as the first parent) and stays monotone in the child's return
when it is negative (early HalfCheetah), where a plain ratio would flip.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from figures.curves import panel_grid
from figures.style import asked_text, colour, dots_and_means, seeds_note, task_name

KIND_NAMES = {"state": "state space", "parameter": "parameter space"}


def normalised_children(crossovers: pd.DataFrame) -> pd.DataFrame:
    """First-round children with ``normalised`` (see the module's docstring) and ``crossover``."""
    first = crossovers[(crossovers["round"] == 0) & crossovers["kind"].isin(KIND_NAMES)].copy()
    parent = first["parent_x_return"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        first["normalised"] = 1.0 + (first["child_return"].to_numpy(float) - parent) / np.abs(parent)
    first["crossover"] = first["kind"].map(KIND_NAMES) + " (" + first["algo"] + ")"
    return first.replace([np.inf, -np.inf], np.nan).dropna(subset=["normalised"])


def crossover_children(crossovers: pd.DataFrame, seeds_asked: int | dict[str, int], title: str = ""):
    children = normalised_children(crossovers)
    envs = list(dict.fromkeys(children.env))
    order = list(dict.fromkeys(children.sort_values("kind", ascending=False)["crossover"]))
    colours = {c: colour(a) for c, a in zip(children.crossover, children.algo)}
    fig, ax = plt.subplots(figsize=(max(4.5, 2.2 * len(envs) + 1.5), 4.4))
    data = children.assign(task=children.env.map(task_name))
    tasks = [task_name(e) for e in envs]
    dots_and_means(
        ax,
        data,
        "task",
        "normalised",
        "crossover",
        order,
        colours,
        alpha=0.4,
        order=tasks,
        linestyle="none",
        markers="D",
    )
    ax.axhline(1.0, color="black", lw=1, ls="--", label="first parent")
    ax.set_xlabel("")
    ax.set_ylabel("child's return / first parent's return")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(
        f"{title}\nfirst-round children after crossover: mean, 95% t-interval, every child\n"
        f"{seeds_note(children, list(dict.fromkeys(children.algo)), seeds_asked)}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def crossover_rounds(table: pd.DataFrame, seeds_asked: int | dict[str, int], title: str = ""):
    """The paper's Figure 2a past the first round, from ``bench.analysis.crossovers``' table: per task,
    each round's children right after crossover minus their better parent (solid) and minus the
    average of their parents (dashed), mean over runs ± SE over runs, a line per algorithm and
    crossover kind. Below 0 on the solid line, crossover lost part of what the better parent had
    already learned."""
    envs = list(dict.fromkeys(table.env))
    fig, axes = panel_grid(len(envs), width=5.2, height=4.0)  # three a row, readable at README's width
    for ax, env in zip(axes, envs):
        for (algo, kind), rows in table[table.env == env].groupby(["algo", "kind"], sort=False):
            name = f"{KIND_NAMES[kind]} ({algo})"
            for gap, style in (("gap_better", "-"), ("gap_mean", "--")):
                ax.errorbar(
                    rows["round"],
                    rows[gap],
                    yerr=rows[f"{gap}_se"].fillna(0.0),
                    color=colour(algo),
                    ls=style,
                    marker="o",
                    ms=4,
                    capsize=2,
                    label=f"{name}: child − {'better' if gap == 'gap_better' else 'mean'} parent",
                )
        ax.axhline(0.0, color="black", lw=1)
        ax.set_title(task_name(env), fontsize=12)
        ax.set_xlabel("round", fontsize=11)
        ax.tick_params(labelsize=10)
    for ax in axes[:: min(len(axes), 3)]:  # the first panel of each row
        ax.set_ylabel("child's return − parent's return", fontsize=11)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=10)
    runs = table.groupby(["env", "algo"], sort=False)["runs"].max()
    fig.suptitle(
        f"{title}\nchildren right after crossover against their parents, by round: mean ± SE over runs\n"
        f"runs (of {asked_text(seeds_asked)}): "
        + "; ".join(f"{task_name(e)} {a} {n}" for (e, a), n in runs.items()),
        fontsize=11,
    )
    rows_of_panels = math.ceil(len(axes) / 3)
    fig.tight_layout(rect=(0, 0.1 / rows_of_panels, 1, 1))  # room for the legend below
    return fig
