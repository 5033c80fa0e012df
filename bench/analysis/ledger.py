"""A study's ledger: for every finished run, the commit it ran from, its attempts, its start and
end, its core-seconds, and what ``gpo-bench run --dry-run`` prices it at (``bench.runs.planning``).

It is the bookkeeping a study's report quotes: which code made the numbers (a study pinned to one
commit shows one), and what the study cost against its estimate. Core-seconds are the finished
attempt's wall time (``seconds`` in ``run.json``; one run holds one core), so a run resumed from
a checkpoint counts only its last attempt, and the ledger says how many attempts it took.

Written by ``gpo-bench aggregate`` as ``tables/ledger.parquet`` and ``tables/ledger.md``.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.study import Study
from bench.runs.planning import StepCosts, run_seconds
from bench.runs.results import CorruptRun, read_run

COLUMNS = [
    "suite",
    "algo",
    "env",
    "seed",
    "commit",
    "attempt",
    "start",
    "end",
    "seconds",
    "estimate_seconds",
]


def ledger_table(study: Study, costs: StepCosts | None = None) -> pd.DataFrame:
    """One row per finished run of ``study``, in the suite's order;
    fields a ``run.json`` lacks (runs from before they were recorded) are left empty."""
    costs = costs or StepCosts.shipped()
    rows = []
    for run in study.finished:
        try:
            meta = read_run(run.folder(study.results)) or {}
        except CorruptRun:  # aggregate names damaged runs; the ledger leaves the fields empty
            meta = {}
        seconds = meta.get("seconds")
        rows.append(
            {
                "suite": run.suite,
                "algo": run.algo_label,
                "env": run.env,
                "seed": run.seed,
                "commit": str(meta.get("git_commit") or "")[:7],
                "attempt": int(meta.get("attempt") or 0),
                "start": str(meta.get("start") or ""),
                "end": str(meta.get("end") or ""),
                "seconds": float(seconds) if seconds is not None else math.nan,
                "estimate_seconds": sum(run_seconds(run.spec(), costs).values()),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def ledger_markdown(ledger: pd.DataFrame) -> str:
    """The ledger as Markdown: the commits, the totals against the estimate, then run by run."""
    measured = ledger["seconds"].sum(min_count=1)
    estimate = ledger["estimate_seconds"].sum()
    timed = ledger["seconds"].notna()
    commits = sorted(c for c in ledger["commit"].unique() if c)
    out = [
        "### Runs: the commit each ran from, its core-seconds and `--dry-run`'s estimate",
        "",
        f"- runs: {len(ledger)}; commits: {', '.join(commits) if commits else 'not recorded'}",
        f"- core-hours measured: {measured / 3600:.2f} ({int(timed.sum())} runs timed); "
        f"estimated: {ledger.loc[timed, 'estimate_seconds'].sum() / 3600:.2f} for those runs, "
        f"{estimate / 3600:.2f} for all",
        "",
        "| run | commit | attempts | start (UTC) | core-seconds | estimate | measured / estimate |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ledger.itertuples(index=False):
        ratio = row.seconds / row.estimate_seconds if row.estimate_seconds > 0 else math.nan
        out.append(
            f"| {row.algo}/{row.env}/seed{row.seed} | {row.commit or 'n/a'} | {row.attempt or 'n/a'} "
            f"| {row.start[:16].replace('T', ' ') or 'n/a'} | {_number(row.seconds)} "
            f"| {_number(row.estimate_seconds)} | {_number(ratio, 2)} |"
        )
    out.append("")
    return "\n".join(out)


def _number(value: float, digits: int = 0) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"
