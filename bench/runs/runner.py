"""Running one seeded job into its results folder. Files (all written atomically):
``curve.parquet`` (the learning curve), ``run.json`` (configuration, versions, status) and, by
family, GPO's ``rounds.parquet``, ``crossovers.parquet`` and ``members.parquet``, or Single's
``members.parquet`` and ``member_curves.parquet``; and ``policies.pt``, the final policies
(``bench.artifacts.policies``).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from bench.artifacts.policies import POLICIES_FILE, save_policies
from bench.runs import preemption
from bench.runs.algorithms import RunSpec, build_run
from bench.runs.checkpoint import TorchCheckpointer
from bench.runs.lease import claim, live_owner
from bench.runs.preemption import Requeued
from bench.runs.progress import Heartbeat, TensorBoard, tensorboard_requested
from bench.runs.results import (
    CURVE_FILE,
    RUN_FILE,
    CorruptRun,
    cpu_record,
    done_record,
    file_digest,
    git_commit,
    is_done,
    package_versions,
    quarantine,
    read_run,
    write_json,
    write_parquet,
)
from gpo.core import kernels
from gpo.core.progress import reporting


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def execute(
    spec: RunSpec, checkpointer: TorchCheckpointer | None = None, algo: str = ""
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Run ``spec`` to its budget (resuming from ``checkpointer``): its tables, by file name, and
    its final policies (``bench.artifacts.policies``); its family executes it."""
    return spec.family.execute(spec.config, checkpointer, algo)


def run_one(
    algo: str,
    env_id: str,
    steps: int,
    seed: int,
    out: Path,
    extra_record: dict | None = None,
    force: bool = False,
    listeners: tuple[Callable[[dict], None], ...] = (),
    tensorboard: bool = False,
    **options,
) -> bool:
    """Run ``algo`` on ``env_id`` (``steps`` per policy) and write the results into ``out``,
    resuming from the run's checkpoint if an earlier attempt left one (``force``: start afresh).
    While it trains, ``progress.json`` is its heartbeat (``listeners`` get each one);
    ``tensorboard`` (or ``GPO_BENCH_TENSORBOARD=1``) writes TensorBoard event files too."""
    out = Path(out)
    try:
        spec = build_run(algo, env_id, steps, seed, **options)  # ValueError before anything is written
    except ValueError as error:
        if extra_record is None:  # asked directly (`train` checks first): nothing to record
            raise
        # A launched job: the launcher built this run, so what fails here is this host (a task
        # it cannot make, say); its record says so, for `status` and the next launch.
        with claim(out):
            failed = {
                "algo": algo,
                "env": env_id,
                "seed": seed,
                "steps_per_policy": steps,
                "host": socket.gethostname(),
            }
            write_json(
                out / RUN_FILE,
                failed | extra_record | {"status": "failed", "error": repr(error), "end": now()},
            )
        raise
    record = {
        "algo": algo,
        "env": env_id,
        "seed": seed,
        "steps_per_policy": steps,
        "family": spec.family.name,
        "config": dataclasses.asdict(spec.config),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "host": socket.gethostname(),
        "cpu": cpu_record(),
        "kernels": kernels.record(),  # the level its numbers replay at (gpo.core.kernels)
        "workers": int(options.get("workers", 1)),  # not part of the run's identity: same numbers
        "start": now(),
        "status": "running",
        **(extra_record or {}),
    }
    fingerprint = json.dumps(record["config"], sort_keys=True, default=str)
    set_aside_if_corrupt(out)
    with claim(out) as lease:  # RunOwned if another live process is running it
        if not force and is_done(out):
            return False  # another launcher finished it while this one waited
        lease.log_training()
        checkpointer = TorchCheckpointer(out, fingerprint)
        if force:
            checkpointer.clear()
        previous = read_run(out)
        record["attempt"] = 1 + int((previous or {}).get("attempt", 0)) if not force else 1
        write_json(out / RUN_FILE, record)
        start = time.perf_counter()
        board = TensorBoard(out) if (tensorboard or tensorboard_requested()) else None
        heartbeat = Heartbeat(out, spec.env_steps, listeners=listeners).with_tensorboard(board)
        prior_resumes = list((previous or {}).get("resumes", [])) if not force else []

        def resumes() -> list[dict]:
            """Every attempt that resumed from a checkpoint: which, and from how many env steps."""
            if not checkpointer.resumed:
                return prior_resumes
            this = {"attempt": record["attempt"], "checkpoints": checkpointer.resumed}
            return [*prior_resumes, this | {"env_steps": heartbeat.restored_steps, "start": record["start"]}]

        try:
            with heartbeat, reporting(heartbeat):
                tables, policies = execute(spec, checkpointer, algo)
        except BaseException as error:
            ended = {"end": now(), "env_steps": heartbeat.steps, "resumed_from": checkpointer.resumed}
            write_json(out / RUN_FILE, {**record, **ended, **attempt_outcome(error), "resumes": resumes()})
            if board is not None:
                board.close()
            stopped = type(error).__name__ == "UncompletedJobError"
            if preemption.current.handed_over and not isinstance(error, Requeued) and not stopped:
                # The job is requeued already; what ended this attempt is the limit it was
                # requeued for (SLURM stopping its member workers: BrokenProcessPool), so it leaves
                # as a requeued attempt, never as a failure the launcher would report.
                raise Requeued(
                    f"requeued by SLURM; the attempt then ended with {type(error).__name__}"
                ) from error
            raise
        for name, frame in tables.items():
            write_parquet(out / name, frame)
        save_policies(out / POLICIES_FILE, policies)
        if board is not None:
            board.tables(tables)
            board.close()
        curve = tables[CURVE_FILE]
        write_json(
            out / RUN_FILE,
            {
                **record,
                "status": "done",
                "end": now(),
                "seconds": time.perf_counter() - start,
                "resumed_from": checkpointer.resumed,
                "resumes": resumes(),
                "final": {
                    "env_steps": int(curve["env_steps"].iloc[-1]),
                    "eval_return": float(curve["eval_return"].dropna().iloc[-1])
                    if curve["eval_return"].notna().any()
                    else None,
                },
                # What the run wrote, for status to verify (bench.runs.results.verify_files).
                "files": {name: file_digest(out / name) for name in tables},
                # Bulk kept out of git (*.pt): verified where present, absent in a fresh clone.
                "local_files": {POLICIES_FILE: file_digest(out / POLICIES_FILE)},
            },
        )
    return True


def attempt_outcome(error: BaseException) -> dict:
    """How an attempt that did not finish ended, for ``run.json``: ``requeued`` (SLURM's time
    limit or preemption: the job waits in the queue for its next attempt, which resumes from the
    last checkpoint; whatever else the limit's kill then raised, a broken pool of member workers),
    ``stopped`` (the time limit came more often than the job may be requeued: ``gpo-bench run``
    resumes it), else ``failed``."""
    if type(error).__name__ == "UncompletedJobError" and "timed-out too many times" in str(error):
        return {"status": "stopped", "error": "the SLURM time limit came more often than it may be requeued"}
    if isinstance(error, Requeued) or preemption.current.handed_over:
        # requeued at a safe point, or by the watchdog before the limit ended the attempt
        return {"status": "requeued", "requeued": now(), "error": None}
    return {"status": "failed", "error": repr(error)}


def set_aside_if_corrupt(out: Path) -> Path | None:
    """Move a run folder whose files cannot be trusted aside (never deleting it) so the run can
    start afresh; says so in one line on stderr. Returns where it went. A folder that a live
    process is running is left alone (its owner is rewriting it)."""
    try:
        done_record(out)
    except CorruptRun as error:
        if live_owner(out) is not None:
            return None
        try:
            moved = quarantine(out)
        except FileNotFoundError:  # another launcher moved it first
            return None
        print(
            f"gpo-bench: {error.path} is damaged ({error.reason}); moved the run to {moved}", file=sys.stderr
        )
        return moved
    return None
