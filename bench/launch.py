"""Launching a suite's runs through submitit, on this machine.

- ``local`` (default): submitit's local executor, one subprocess per run. It has no array
  parallelism of its own, so at most ``workers`` runs execute at once: the tool submits a new one
  when one finishes.
- ``debug``: submitit's debug executor, every run in this process one after the other.

Runs already done are skipped unless ``force``; failed or unfinished ones run again. A run's
``run.json`` records the submitit job id and the path of its log.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import submitit

from bench.results import is_done, read_run
from bench.runner import run_one
from bench.suite import Run

POLL_SECONDS = 0.5


@dataclass
class LaunchReport:
    done: list[Run] = field(default_factory=list)  # finished now
    skipped: list[Run] = field(default_factory=list)  # finished before
    failed: list[tuple[Run, str]] = field(default_factory=list)  # with the log's path


def pending(runs: list[Run], results: Path, force: bool) -> tuple[list[Run], list[Run]]:
    """(runs to launch, runs already done and kept)."""
    done = [r for r in runs if is_done(r.folder(results)) and not force]
    return [r for r in runs if r not in done], done


def execute_run(run: Run, results: Path) -> str:
    """The job: one run into its folder (submitit pickles this call)."""
    job_id = None
    with contextlib.suppress(RuntimeError):  # outside a submitit job (debug executor): no id
        job_id = submitit.JobEnvironment().job_id
    run_one(
        run.algo,
        run.env,
        run.steps_per_policy,
        run.seed,
        run.folder(results),
        extra_record={"job_id": job_id, "suite": run.suite},
        **run.options(),
    )
    return run.name


def launch(
    runs: list[Run],
    results: Path,
    executor: str = "local",
    workers: int = 1,
    force: bool = False,
    on_event: Callable[[str, Run, str], None] = lambda kind, run, detail: None,
) -> LaunchReport:
    todo, kept = pending(runs, results, force)
    report = LaunchReport(skipped=kept)
    if not todo:
        return report
    logs = Path(results) / runs[0].suite / "_logs" / "%j"
    submitter = submitit.AutoExecutor(folder=logs, cluster=executor)
    submitter.update_parameters(timeout_min=60 * 24 * 7, name="gpo-bench")
    queue, active = list(todo), []
    while queue or active:
        while queue and len(active) < max(1, workers):
            run = queue.pop(0)
            active.append((run, submitter.submit(execute_run, run, results)))
            on_event("started", run, "")
        finished = [(run, job) for run, job in active if job.done()]
        if not finished:
            time.sleep(POLL_SECONDS)
            continue
        for run, job in finished:
            active.remove((run, job))
            try:
                job.result()
            except Exception as error:  # the run's own run.json holds the error too
                log = str(job.paths.stderr) if hasattr(job, "paths") else ""
                report.failed.append((run, log))
                on_event("failed", run, f"{type(error).__name__}: {str(error).splitlines()[-1:]}")
                continue
            report.done.append(run)
            final = (read_run(run.folder(results)) or {}).get("final", {})
            on_event("done", run, f"eval return {final.get('eval_return')}")
    return report
