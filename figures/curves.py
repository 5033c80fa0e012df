"""Return against env steps, one panel per task, one line per algorithm: the paper's Figures 3
(PPO), 4 (A2C), the ablation figure and Figure 6 (population size) are all this figure of a
different suite."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from figures.style import METRIC_LABELS, X_LABEL, colour, shared_legend, task_name

BAND_NAMES = {
    "ci": "mean and 95% t-interval over seeds",
    "iqr": "median and interquartile range over seeds",
}


def panel_grid(count: int, width: float = 4.2, height: float = 3.2):
    """Up to three panels a row (3 × 3 for the paper's nine tasks); unused axes removed."""
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 1.0), squeeze=False)
    for ax in axes.flat[count:]:
        ax.remove()
    return fig, list(axes.flat[:count])


def learning_curves(
    bands: pd.DataFrame, metric: str, band: str, envs: list[str], algos: list[str], note: str, title: str = ""
):
    """``bands``: bench.analysis.aggregate.curve_bands (per algo, env and grid point: centre, low, high),
    x in env steps per policy."""
    envs = [e for e in envs if (bands.env == e).any()]
    algos = [a for a in algos if (bands.algo == a).any()]
    fig, axes = panel_grid(max(len(envs), 1))
    marked = set()
    for ax, env in zip(axes, envs):
        for algo in algos:
            line = bands[(bands.env == env) & (bands.algo == algo)]
            if line.empty:
                continue
            x = line["env_steps"] / 1e6
            sparse = len(line) < 15  # a few evaluations only: mark them, large enough to see
            marked |= {algo} if sparse else set()
            ax.plot(
                x,
                line["centre"],
                color=colour(algo),
                lw=1.8,
                label=algo,
                marker="o" if sparse else None,
                ms=7 if len(line) < 3 else 4,
                zorder=3,
            )
            ax.fill_between(x, line["low"], line["high"], color=colour(algo), alpha=0.2, lw=0)
        ax.set_title(task_name(env))
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel("return")
        ax.set_xlim(left=0)
    band_name = BAND_NAMES[band] if bands["seeds"].max() > 1 else "one seed each, so no interval"
    fig.suptitle(f"{title}\n{METRIC_LABELS[metric]}: {band_name}; {note}")
    shared_legend(fig, algos, marked)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
