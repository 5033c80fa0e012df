"""Ours against the paper: per task, GPO's final return relative to Single and to Joint, our
ratio (with its 95% Fieller interval; a dotted line where it is unbounded) beside the paper's.
Absolute returns are not comparable (rllab's rewards are not gymnasium's); ratios and the
methods' order are."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from figures.style import METRIC_LABELS, colour


def paper_vs_ours(table: pd.DataFrame, metric: str, title: str = ""):
    """``table``: bench.analysis.paper.paper_table. A panel per baseline (Single, Joint) and learner."""
    table = table[table.metric == metric]
    panels = [(learner, other) for learner in dict.fromkeys(table.learner) for other in ("single", "joint")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 4.4), squeeze=False)
    for ax, (learner, other) in zip(axes.flat, panels):
        rows = table[table.learner == learner].reset_index(drop=True)
        x = np.arange(len(rows))
        ours = rows[f"gpo_over_{other}"].to_numpy(float)
        low = rows[f"gpo_over_{other}_ci_low"].to_numpy(float)
        high = rows[f"gpo_over_{other}_ci_high"].to_numpy(float)
        gpo = "gpo" if learner == "ppo" else f"gpo-{learner}"
        bounded = np.isfinite(low) & np.isfinite(high)
        ax.errorbar(
            x + 0.12,
            ours,
            yerr=[np.where(bounded, ours - low, 0.0), np.where(bounded, high - ours, 0.0)],
            fmt="o",
            color=colour(gpo),
            capsize=4,
            ms=7,
            label="ours (95% Fieller interval)",
        )
        ax.scatter(
            x - 0.12,
            rows[f"paper_gpo_over_{other}"],
            marker="s",
            facecolors="none",
            edgecolors="black",
            s=50,
            label="paper",
        )
        for i in np.flatnonzero(~bounded & np.isfinite(ours) & (low == -np.inf)):
            ax.axvline(x[i] + 0.12, color=colour(gpo), lw=1.5, ls=":")  # unbounded: any ratio
        ax.axhline(1.0, color="grey", lw=1, ls="--")
        ax.set_xticks(
            x, rows["task"], rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center"
        )
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_ylabel(f"GPO / {other.capitalize()} final return")
        ax.set_title(f"{learner.upper()}: GPO relative to {other.capitalize()}")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{title}\nours against the paper, final {METRIC_LABELS[metric]} (above 1: GPO ahead)")
    fig.tight_layout()
    return fig
