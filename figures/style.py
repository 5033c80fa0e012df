"""What every figure shares: one colour per algorithm (the same in every figure), readable task
names, axis labels with units, and a title that says how many seeds went in."""

from __future__ import annotations

import contextlib
import re
import zlib
from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from scipy.stats import t as t_dist

# Fixed, so an algorithm has the same colour in every figure of every study.
COLOURS = {
    "gpo": "#d62728",
    "single": "#1f77b4",
    "joint": "#2ca02c",
    "gpo-a2c": "#e377c2",
    "single-a2c": "#17becf",
    "joint-a2c": "#bcbd22",
    "gpo-no-crossover": "#7f7f7f",
    "gpo-param-crossover": "#ff7f0e",
    "gpo-performance-selection": "#9467bd",
    "gpo-data-sharing": "#8c564b",
    "ppo": "#393b79",
    "ppo-kl": "#637939",
    "a2c": "#843c39",
}
POPULATION_LABEL = re.compile(r"^(?P<algo>.+)-m(?P<m>\d+)$")

METRIC_LABELS = {
    "train": "training return of the best policy",
    "eval": "evaluation return of the best policy",
}
X_LABEL = "env steps per policy (millions)"

# The paper's names for the gymnasium tasks, for panel titles.


def colour(algo: str) -> str:
    """The algorithm's colour. A population-size label (``gpo-m4``) takes a shade of viridis
    by log2(m), so m = 2 ... 16 read as an ordered scale; an unknown name a stable tab20 colour."""
    if algo in COLOURS:
        return COLOURS[algo]
    match = POPULATION_LABEL.match(algo)
    if match:
        shade = min(max((int(match["m"]).bit_length() - 2) / 4, 0.0), 1.0)  # m=2 → 0, m=32 → 1
        return mpl.colors.to_hex(mpl.colormaps["viridis"](0.9 * shade))
    return mpl.colors.to_hex(mpl.colormaps["tab20"](zlib.crc32(algo.encode()) % 20))


def palette(algos) -> dict[str, str]:
    return {algo: colour(algo) for algo in algos}


def task_name(env: str) -> str:
    """One rule for every panel and readable table: the gymnasium id without its namespace and
    version, a Hilly task as the paper names it (``Hopper-v5`` → Hopper, ``InvertedPendulum-v5``
    → InvertedPendulum, ``gpo_bench/HalfCheetahHilly-v1`` → HalfCheetah-Hilly)."""
    name = re.sub(r"-v\d+$", "", env.split("/")[-1])
    return re.sub(r"(?<=.)Hilly$", "-Hilly", name)


def asked_text(asked: int | Mapping[str, int]) -> str:
    """'3', or '3-5 by task' when a study asks different seed counts of its tasks."""
    if not isinstance(asked, Mapping):
        return str(asked)
    low, high = min(asked.values()), max(asked.values())
    return str(low) if low == high else f"{low}\u2013{high} by task"


def seeds_note(frame: pd.DataFrame, algos, asked: int | Mapping[str, int]) -> str:
    """'seeds per algorithm (of 3): gpo 3, single 2-3; partial study': finished seeds per
    algorithm, as the range over tasks when they differ (so a partly finished task shows, and a
    task with more seeds is not hidden behind the fewest). ``asked`` is one count, or a count per
    task."""
    counts, partial = {}, False
    for algo in algos:
        per_task = frame[frame.algo == algo].groupby("env")["seed"].nunique()
        low, high = (int(per_task.min()), int(per_task.max())) if len(per_task) else (0, 0)
        counts[algo] = str(low) if low == high else f"{low}\u2013{high}"
        if isinstance(asked, Mapping):
            tasks = set(frame.env) & set(asked)
            partial |= any(int(per_task.get(env, 0)) < asked[env] for env in tasks) or not len(per_task)
        else:
            partial |= low < asked
    note = f"seeds per algorithm (of {asked_text(asked)}): " + ", ".join(
        f"{a} {n}" for a, n in counts.items()
    )
    return note + ("; partial study" if partial else "")


def theme() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    mpl.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "pdf.fonttype": 42})


@contextlib.contextmanager
def fixed_jitter(seed: int = 0):
    """seaborn's stripplot jitters with NumPy's global generator: seed it for the drawing (and
    put back what was there), so the same tables give the same figure, pixel for pixel."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def dots_and_means(
    ax,
    data,
    x: str,
    y: str,
    hue: str,
    hue_order: list,
    colours: dict,
    alpha: float,
    order: list | None = None,
    **point_options,
) -> None:
    """Every value as a faint dot, and per x and hue the mean with its 95% Student-t interval
    (none from one value), the hues side by side."""
    common = {
        "data": data,
        "x": x,
        "y": y,
        "hue": hue,
        "order": order,
        "hue_order": hue_order,
        "palette": colours,
        "ax": ax,
    }
    several = len(hue_order) > 1
    with fixed_jitter():
        sns.stripplot(**common, dodge=several, alpha=alpha, size=4, legend=False)
    sns.pointplot(
        **common, dodge=0.4 if several else False, errorbar=t_interval, capsize=0.1, **point_options
    )


def t_interval(values) -> tuple[float, float]:
    """95% Student-t interval of the mean of ``values`` (what the tables call ``t_ci``): at 3-5
    seeds a percentile bootstrap cannot pass the seeds' range and undercovers."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    half = float(t_dist.ppf(0.975, df=len(values) - 1)) * float(np.std(values, ddof=1)) / np.sqrt(len(values))
    return float(np.mean(values)) - half, float(np.mean(values)) + half


def shared_legend(fig, algos, marked=(), **kwargs) -> None:
    """One legend for the whole figure, below the panels, an entry per algorithm; the ``marked``
    ones (drawn as a few points) with the marker they are drawn with."""
    handles = [
        mpl.lines.Line2D([], [], color=colour(a), lw=2.5, label=a, marker="o" if a in marked else None, ms=6)
        for a in algos
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=min(len(handles), 5),
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
        **kwargs,
    )
