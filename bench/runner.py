"""Running one seeded job into its results folder. Files (all written atomically):
``curve.parquet`` (the learning curve), ``run.json`` (configuration, versions, status) and, by
family, GPO's ``rounds.parquet``, ``crossovers.parquet`` and ``members.parquet``, or Single's
``members.parquet`` and ``member_curves.parquet``.
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

from baselines.single import run_single as run_single_baseline
from bench.algorithms import RunSpec, build_run
from bench.checkpoint import TorchCheckpointer
from bench.lease import claim, live_owner
from bench.progress import Heartbeat, TensorBoard, tensorboard_requested
from bench.results import (
    CURVE_FILE,
    RUN_FILE,
    CorruptRun,
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
from gpo.gpo import GPO
from gpo.progress import reporting
from gpo.trainer import train


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def execute(spec: RunSpec, checkpointer: TorchCheckpointer | None = None) -> dict[str, pd.DataFrame]:
    """Run ``spec`` to its budget (resuming from ``checkpointer``); its tables, by file name."""
    if spec.family == "plain":
        return {CURVE_FILE: pd.DataFrame(train(spec.config, checkpointer))}
    if spec.family == "single":
        result = run_single_baseline(spec.config, checkpointer)
        member_curves = pd.concat(
            [pd.DataFrame(rows).assign(member=i) for i, rows in enumerate(result.member_curves)]
        )
        return {
            CURVE_FILE: pd.DataFrame(result.curve),
            "members.parquet": pd.DataFrame(result.final_members),
            "member_curves.parquet": member_curves,
        }
    run = GPO(spec.config).run(checkpointer)
    return {
        CURVE_FILE: pd.DataFrame(run.curve),
        "rounds.parquet": pd.DataFrame(run.rounds),
        "crossovers.parquet": pd.DataFrame(run.crossovers),
        "members.parquet": pd.DataFrame(run.final_members),
    }


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
) -> Path:
    """Run ``algo`` on ``env_id`` (``steps`` per policy) and write the results into ``out``,
    resuming from the run's checkpoint if an earlier attempt left one (``force``: start afresh).
    While it trains, ``progress.json`` is its heartbeat (``listeners`` get each one);
    ``tensorboard`` (or ``GPO_BENCH_TENSORBOARD=1``) writes TensorBoard event files too."""
    spec = build_run(algo, env_id, steps, seed, **options)  # ValueError before anything is written
    record = {
        "algo": algo,
        "env": env_id,
        "seed": seed,
        "steps_per_policy": steps,
        "family": spec.family,
        "config": dataclasses.asdict(spec.config),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "host": socket.gethostname(),
        "start": now(),
        "status": "running",
        **(extra_record or {}),
    }
    fingerprint = json.dumps(record["config"], sort_keys=True, default=str)
    out = Path(out)
    set_aside_if_corrupt(out)
    with claim(out) as lease:  # RunOwned if another live process is running it
        if not force and is_done(out):
            return out  # another launcher finished it while this one waited
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
        try:
            with heartbeat, reporting(heartbeat):
                tables = execute(spec, checkpointer)
        except BaseException as error:
            write_json(out / RUN_FILE, {**record, "status": "failed", "error": repr(error), "end": now()})
            if board is not None:
                board.close()
            raise
        for name, frame in tables.items():
            write_parquet(out / name, frame)
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
                "final": {
                    "env_steps": int(curve["env_steps"].iloc[-1]),
                    "eval_return": float(curve["eval_return"].dropna().iloc[-1])
                    if curve["eval_return"].notna().any()
                    else None,
                },
                # What the run wrote, for status to verify (bench.results.verify_files).
                "files": {name: file_digest(out / name) for name in tables},
            },
        )
    return out


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
