"""``gpo-bench plot``: a study's figures, drawn by ``figures`` from ``bench.analysis.aggregate``'s tables,
saved as PNG and PDF (atomically) into ``<results>/<suite>/figures/``.

Which figures a study gets depends on what its runs recorded:

- ``curves-<metric>``: return against env steps per task (every study; for ``popsize`` this is
  the paper's Figure 6, a line per population size);
- ``final-<metric>``: final returns per task, means with 95% CIs and every seed;
- ``profile-<metric>``: the performance profile across tasks (two tasks or more);
- ``crossover-children``: the paper's Figure 2a (GPO runs with state- or parameter-space
  crossover, e.g. the ``ablations`` suite);
- ``crossover-rounds``: children against their parents, round by round (every study with
  crossovers; ``bench.analysis.crossovers``);
- ``members-<metric>``: the paper's Figure 5, a panel per task where two algorithms saved their
  members (GPO's last population and Single's policies), or the one task of ``--task``;
- ``paper-<metric>``: ours against the paper (GPO with Single or Joint on the paper's tasks).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed (a cluster node, CI)

import matplotlib.pyplot as plt  # noqa: E402

from bench.analysis.aggregate import (  # noqa: E402
    Tables,
    algo_labels,
    curve_bands,
    normalised_scores,
    profile_table,
)
from bench.artifacts.files import atomic_write  # noqa: E402
from figures.crossover import KIND_NAMES, crossover_children, crossover_rounds  # noqa: E402
from figures.curves import learning_curves  # noqa: E402
from figures.finals import final_returns, performance_profile  # noqa: E402
from figures.members import member_returns  # noqa: E402
from figures.paper import paper_vs_ours  # noqa: E402
from figures.style import seeds_note, theme  # noqa: E402

FORMATS = ("png", "pdf")


def members_tasks(members, envs: list[str], task: str | None) -> list[str]:
    """The tasks of Figure 5: ``task`` if given, else every one with two algorithms' members."""
    if task is not None:
        return [task]
    return [e for e in envs if members[members.env == e]["algo"].nunique() >= 2]


def make_figures(tables: Tables, metric: str, band: str = "ci", task: str | None = None) -> dict:
    """Every figure the study's records allow, by file name (without extension). Bad options
    raise ValueError (an unknown ``band`` from ``curve_bands``)."""
    study = tables.study
    suite = study.suite
    if task is not None and task not in suite.envs:
        raise ValueError(f"--task: {task!r} is not in suite {suite.name!r}; it has: {', '.join(suite.envs)}")
    theme()
    title = f"{suite.name}: {suite.description}" if suite.description else suite.name
    algos, envs, asked = algo_labels(suite), list(suite.envs), study.seeds_asked()
    curves = tables.curves[tables.curves.metric == metric].dropna(subset=["value"])
    figures = {
        f"curves-{metric}": learning_curves(
            curve_bands(tables.curves, metric, band),
            metric,
            band,
            envs,
            algos,
            seeds_note(curves, algos, asked),
            title,
        ),
        f"final-{metric}": final_returns(tables.final, tables.runs, metric, asked, title),
    }
    scores = normalised_scores(tables.runs)
    scores = scores[scores.metric == metric]
    if scores["env"].nunique() >= 2:
        note = seeds_note(scores, algos, asked)
        figures[f"profile-{metric}"] = performance_profile(profile_table(scores, metric), algos, note, title)
    crossovers = study.table("crossovers.parquet")
    if "kind" in crossovers and crossovers["kind"].isin(KIND_NAMES).any():
        figures["crossover-children"] = crossover_children(crossovers, asked, title)
    if not tables.crossovers.empty:
        figures["crossover-rounds"] = crossover_rounds(tables.crossovers, asked, title)
    members = study.table("members.parquet")
    chosen = members_tasks(members, envs, task) if not members.empty else []
    if chosen and members.env.isin(chosen).any():
        figures[f"members-{metric}"] = member_returns(members, chosen, metric, asked, title)
    if not tables.paper.empty and (tables.paper.metric == metric).any():
        figures[f"paper-{metric}"] = paper_vs_ours(tables.paper, metric, title)
    return figures


# No creation time in a PDF (matplotlib writes the clock's by default): the same tables give the
# same files, byte for byte, on the same machine and packages.
METADATA = {"pdf": {"CreationDate": None}, "png": {}}


def save_figures(figures: dict, folder: Path, formats=FORMATS) -> list[Path]:
    """Each figure as PNG and PDF; a crash leaves the previous file or the new one."""
    paths = []
    for name, fig in figures.items():
        for ext in formats:
            path = Path(folder) / f"{name}.{ext}"
            atomic_write(
                path,
                lambda tmp, fig=fig, ext=ext: fig.savefig(
                    tmp, format=ext, bbox_inches="tight", metadata=METADATA.get(ext)
                ),
            )
            paths.append(path)
        plt.close(fig)
    return paths
