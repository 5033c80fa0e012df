"""The paper's Figure 5: the final return of every member of GPO's last population against every
member of Single's, on one task. Members are ranked within their run (1 = its best); the points
are the mean over seeds of each rank with a 95% t-interval, the dots every member."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from figures.style import dots_and_means, palette, seeds_note, task_name

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
    members: pd.DataFrame, env: str, metric: str, seeds_asked: int | dict[str, int], title: str = ""
):
    ranked = ranked_members(members[members.env == env], metric)
    algos = list(dict.fromkeys(ranked.algo))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    dots_and_means(ax, ranked, "rank", "final", "algo", algos, palette(algos), alpha=0.35)
    ax.set_xlabel("member, ranked within its run (1 = the run's best)")
    ax.set_ylabel("final return")
    ax.legend(frameon=False, title=None)
    ax.set_title(
        f"{title}\n{task_name(env)}: every member's final {LABELS[metric]}\n"
        f"{seeds_note(ranked, algos, seeds_asked)}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
