"""Final returns: per task, every algorithm's mean with its 95% Student-t interval and every
seed as a dot; and across tasks, the performance profile (fraction of runs whose normalised
score exceeds τ, Agarwal et al. 2021)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from figures.curves import panel_grid
from figures.style import METRIC_LABELS, colour, fixed_jitter, palette, seeds_note, shared_legend, task_name


def final_returns(
    final: pd.DataFrame, runs: pd.DataFrame, metric: str, seeds_asked: int | dict[str, int], title: str = ""
):
    """``final``: bench.analysis.aggregate's per env × algo table (its intervals are drawn as they are
    printed); ``runs``: each run's final return, drawn as dots."""
    final = final[final.metric == metric]
    runs = runs[runs.metric == metric].dropna(subset=["final"])
    envs = list(dict.fromkeys(final.env))
    algos = list(dict.fromkeys(final.algo))
    fig, axes = panel_grid(max(len(envs), 1), width=3.6, height=3.0)
    for ax, env in zip(axes, envs):
        cells = final[final.env == env].set_index("algo")
        present = [a for a in algos if a in cells.index]
        with fixed_jitter():
            sns.stripplot(
                data=runs[runs.env == env],
                x="algo",
                y="final",
                hue="algo",
                order=present,
                hue_order=present,
                palette=palette(present),
                alpha=0.45,
                size=4,
                jitter=0.15,
                legend=False,
                ax=ax,
            )
        for i, algo in enumerate(present):
            cell = cells.loc[algo]
            low, high = cell["t_ci_low"], cell["t_ci_high"]
            yerr = None if np.isnan(low) else [[cell["mean"] - low], [high - cell["mean"]]]
            ax.errorbar(i, cell["mean"], yerr=yerr, fmt="o", color=colour(algo), ms=8, capsize=4, lw=2)
        ax.set_title(task_name(env))
        ax.set_xlabel("")
        ax.set_ylabel("final return")
        ax.set_xticks(range(len(present)), present, rotation=30, ha="right")
    several = len(runs) > runs.groupby(["env", "algo"]).ngroups  # some cell has two seeds or more
    shown = "mean, 95% t-interval and every seed" if several else "one seed each, so no interval"
    fig.suptitle(f"{title}\nfinal {METRIC_LABELS[metric]}: {shown}; {seeds_note(runs, algos, seeds_asked)}")
    shared_legend(fig, algos)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def performance_profile(profile: pd.DataFrame, algos: list[str], note: str, title: str = ""):
    """``profile``: bench.analysis.aggregate.profile_table (per algo and τ: fraction, low, high)."""
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    for algo in [a for a in algos if (profile.algo == a).any()]:
        mine = profile[profile.algo == algo]
        ax.plot(mine["tau"], mine["fraction"], color=colour(algo), lw=2, label=algo)
        ax.fill_between(mine["tau"], mine["low"], mine["high"], color=colour(algo), alpha=0.2, lw=0)
    ax.set_xlabel("normalised score τ (0: the study's worst final return on a task, 1: its best)")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False)
    ax.set_title(f"{title}\nperformance profile; band: stratified 95% bootstrap CI\n{note}", fontsize=9)
    fig.tight_layout()
    return fig
