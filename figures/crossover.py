"""The paper's Figure 2a: how good is a child right after crossover? Each first-round child's
evaluation return, normalised to its first parent's, for crossover in state space (GPO's
imitation) and in parameter space (the ablation that averages weights).

Normalisation: ``1 + (child − parent) / |parent|``, which is child/parent when the parent's
return is positive (1 = as good as the first parent) and stays monotone in the child's return
when it is negative (early HalfCheetah), where a plain ratio would flip.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from figures.style import colour, dots_and_means, seeds_note, task_name

KIND_NAMES = {"state": "state space", "parameter": "parameter space"}


def normalised_children(crossovers: pd.DataFrame) -> pd.DataFrame:
    """First-round children with ``normalised`` (see the module's docstring) and ``crossover``."""
    first = crossovers[(crossovers["round"] == 0) & crossovers["kind"].isin(KIND_NAMES)].copy()
    parent = first["parent_x_return"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        first["normalised"] = 1.0 + (first["child_return"].to_numpy(float) - parent) / np.abs(parent)
    first["crossover"] = first["kind"].map(KIND_NAMES) + " (" + first["algo"] + ")"
    return first.replace([np.inf, -np.inf], np.nan).dropna(subset=["normalised"])


def crossover_children(crossovers: pd.DataFrame, seeds_asked: int, title: str = ""):
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
        f"{title}\nfirst-round children after crossover: mean, 95% bootstrap CI, every child\n"
        f"{seeds_note(children, list(dict.fromkeys(children.algo)), seeds_asked)}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
