"""Ours against the paper: per task, GPO's final return relative to Single and to Joint, our
ratio (with its 95% Fieller interval) beside the paper's. Absolute returns are not comparable
(rllab's rewards are not gymnasium's); the methods' order is.

The axis is sized to the ratios themselves (the paper's and our point estimates), so that one
task's wide interval (Ant's, where Single's return is near zero) does not squeeze the others to
dots. An interval that reaches past the axis stops at its edge with an arrow, and its end is
written there. An interval Fieller cannot bound (the baseline's mean is not bounded away from
zero, so any ratio is possible) is a dotted line across the whole axis with arrows at both ends,
named in the legend."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from figures.style import METRIC_LABELS, colour


def axis_range(points: np.ndarray) -> tuple[float, float]:
    """A ratio axis that shows every point (ours and the paper's), 1 and 0, with a margin."""
    finite = points[np.isfinite(points)]
    high = max(1.5, float(finite.max(initial=1.0)) * 1.3)
    low = min(0.0, float(finite.min(initial=0.0)))
    return low - 0.08 * (high - low), high


def paper_vs_ours(table: pd.DataFrame, metric: str, title: str = ""):
    """``table``: bench.analysis.paper.paper_table. A panel per baseline (Single, Joint) and learner."""
    table = table[table.metric == metric]
    panels = [(learner, other) for learner in dict.fromkeys(table.learner) for other in ("single", "joint")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 5.0), squeeze=False)
    legend: dict = {}  # one legend for the figure: each entry once, in the order first drawn
    for ax, (learner, other) in zip(axes.flat, panels):
        rows = table[table.learner == learner].reset_index(drop=True)
        x = np.arange(len(rows))
        ours = rows[f"gpo_over_{other}"].to_numpy(float)
        low = rows[f"gpo_over_{other}_ci_low"].to_numpy(float)
        high = rows[f"gpo_over_{other}_ci_high"].to_numpy(float)
        gpo = "gpo" if learner == "ppo" else f"gpo-{learner}"
        paper = rows[f"paper_gpo_over_{other}"].to_numpy(float)
        bottom, top = axis_range(np.concatenate([ours, paper]))
        bounded = np.isfinite(low) & np.isfinite(high)
        shown_low, shown_high = np.clip(low, bottom, top), np.clip(high, bottom, top)
        ax.errorbar(
            x + 0.12,
            ours,
            yerr=[
                np.where(bounded, ours - shown_low, 0.0),
                np.where(bounded, shown_high - ours, 0.0),
            ],
            fmt="o",
            color=colour(gpo),
            capsize=4,
            ms=7,
            label="ours (95% Fieller interval)",
        )
        ax.scatter(x - 0.12, paper, marker="s", facecolors="none", edgecolors="black", s=50, label="paper")
        handles, labels = ax.get_legend_handles_labels()
        clipped = False
        ends = ((high, shown_high, "^", "top"), (low, shown_low, "v", "bottom"))
        for i in np.flatnonzero(bounded):
            for end, shown, marker, va in ends:
                if end[i] != shown[i]:  # past the axis: an arrow at its edge, the end written
                    clipped = True
                    ax.plot(x[i] + 0.12, shown[i], marker=marker, color=colour(gpo), ms=7, clip_on=False)
                    ax.annotate(
                        f"{end[i]:.1f}", (x[i] + 0.12, shown[i]), xytext=(6, 0), textcoords="offset points",
                        va=va, fontsize=8, color=colour(gpo),
                    )  # fmt: skip
        unbounded = np.flatnonzero(~bounded & np.isfinite(ours))
        for i in unbounded:  # any ratio is in the interval: a line across the axis, an arrow at each end
            ax.plot([x[i] + 0.12] * 2, [bottom, top], color=colour(gpo), lw=1.5, ls=":", clip_on=False)
            for edge, marker in ((top, "^"), (bottom, "v")):
                ax.plot(x[i] + 0.12, edge, marker=marker, color=colour(gpo), clip_on=False)
        if clipped:
            handles.append(Line2D([], [], ls="none", marker="^", color=colour(gpo)))
            labels.append("interval past the axis (its end written)")
        if len(unbounded):
            handles.append(Line2D([], [], ls=":", marker="^", color=colour(gpo)))
            labels.append("interval unbounded: any ratio")
        ax.set_ylim(bottom, top)
        ax.axhline(1.0, color="grey", lw=1, ls="--")
        ax.set_xticks(
            x, rows["task"], rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center"
        )
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_ylabel(f"GPO / {other.capitalize()} final return")
        ax.set_title(f"{learner.upper()}: GPO relative to {other.capitalize()}")
        legend.update(zip(labels, handles))
    fig.suptitle(f"{title}\nours against the paper, final {METRIC_LABELS[metric]} (above 1: GPO ahead)")
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=2, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig
