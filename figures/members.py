"""The paper's Figure 5: the final return of every member of GPO's last population against every
member of Single's. The paper draws one task; a study gets a panel per task (up to three a row),
so that whether GPO's population moves together while Single's best reaches higher can be read on
each. Members are ranked within their run (1 = its best); the points are the mean over seeds of
each rank with a 95% t-interval, the dots every member."""

from __future__ import annotations

import pandas as pd

from figures.curves import panel_grid
from figures.style import dots_and_means, palette, seeds_note, shared_legend, task_name

COLUMNS = {"train": "train_return", "eval": "eval_return"}
LABELS = {"train": "training return", "eval": "evaluation return"}


def ranked_members(members: pd.DataFrame, metric: str) -> pd.DataFrame:
    column = COLUMNS[metric]
    ranked = members.dropna(subset=[column]).copy()
    ranked["final"] = ranked[column]
    ranked["rank"] = ranked.groupby(["algo", "env", "seed"])["final"].rank(ascending=False, method="first")
    ranked["rank"] = ranked["rank"].astype(int)
    return ranked


def member_returns(
    members: pd.DataFrame, envs: list[str], metric: str, seeds_asked: int | dict[str, int], title: str = ""
):
    """A panel per task of ``envs`` (in that order), the algorithms side by side in each."""
    ranked = ranked_members(members[members.env.isin(envs)], metric)
    envs = [e for e in envs if (ranked.env == e).any()]
    algos = list(dict.fromkeys(ranked.algo))
    fig, axes = panel_grid(max(len(envs), 1), width=5.2, height=3.8)
    for ax, env in zip(axes, envs):
        panel = ranked[ranked.env == env]
        present = [a for a in algos if (panel.algo == a).any()]
        dots_and_means(ax, panel, "rank", "final", "algo", present, palette(present), alpha=0.35)
        if ax.get_legend() is not None:
            ax.get_legend().remove()  # one legend for the figure
        ax.set_title(task_name(env))
        ax.set_xlabel("member, ranked within its run (1 = the run's best)")
        ax.set_ylabel("final return")
    fig.suptitle(
        f"{title}\nevery member's final {LABELS[metric]}; {seeds_note(ranked, algos, seeds_asked)}",
        fontsize=9,
    )
    shared_legend(fig, algos)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
