"""Running one seeded job into its results folder: curve.parquet and run.json, both atomic."""

from __future__ import annotations

import dataclasses
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from bench.algorithms import LEARNERS
from bench.results import (
    CURVE_FILE,
    RUN_FILE,
    git_commit,
    package_versions,
    write_json,
    write_parquet,
)
from gpo.trainer import TrainConfig, Trainer


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_single(algo: str, env_id: str, steps: int, seed: int, out: Path, **train_kwargs) -> Path:
    """Train ``algo`` on ``env_id`` for ``steps`` env steps and write the run into ``out``."""
    config = TrainConfig(env_id, steps, seed=seed, learner=LEARNERS[algo](), **train_kwargs)
    record = {
        "algo": algo,
        "env": env_id,
        "seed": seed,
        "steps": steps,
        "config": dataclasses.asdict(config),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "host": socket.gethostname(),
        "start": now(),
        "status": "running",
    }
    write_json(out / RUN_FILE, record)
    trainer = Trainer(config)
    start = time.perf_counter()
    try:
        curve = trainer.run()
    except BaseException as error:
        write_json(out / RUN_FILE, {**record, "status": "failed", "error": repr(error), "end": now()})
        raise
    finally:
        trainer.close()
    write_parquet(out / CURVE_FILE, pd.DataFrame(curve))
    final = curve[-1]
    write_json(
        out / RUN_FILE,
        {
            **record,
            "status": "done",
            "end": now(),
            "seconds": time.perf_counter() - start,
            "final": {k: final[k] for k in ("env_steps", "return_mean", "eval_return")},
        },
    )
    return out
