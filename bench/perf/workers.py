"""``workers``: one GPO run's wall time with 1 and with W member workers, alternating processes'
worth of rounds side by side, and the speed-up (``bench.runs.planning.SECOND_WORKER_GAIN``)."""

from __future__ import annotations

import argparse
import statistics
import time

from bench.perf import limit_threads


def workers(args: argparse.Namespace) -> dict:
    """GPO (m = ``population``) on ``steps_per_policy`` per policy, ``rounds`` rounds, with 1 and
    with ``args.workers`` workers in turn, ``args.repeats`` times; wall seconds and speed-up."""
    limit_threads()
    import pandas as pd

    from gpo.gpo import GPO, GPOConfig

    walls: dict[int, list[float]] = {1: [], args.workers: []}
    curves = {}
    for _ in range(args.repeats):
        for count in (1, args.workers):
            config = GPOConfig(
                args.env, args.steps_per_policy, population=args.population, rounds=args.rounds, workers=count
            )
            start = time.perf_counter()
            run = GPO(config).run()
            walls[count].append(time.perf_counter() - start)
            curves[count] = pd.DataFrame(run.curve).drop(columns=["wall_seconds"], errors="ignore")
    one, many = statistics.median(walls[1]), statistics.median(walls[args.workers])
    return {
        "command": (
            f"python -m bench.perf workers --env {args.env} --population {args.population} "
            f"--steps-per-policy {args.steps_per_policy} --rounds {args.rounds} --workers {args.workers} "
            f"--repeats {args.repeats}"
        ),
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "wall_seconds": {str(k): [round(v, 1) for v in vs] for k, vs in walls.items()},
        "median_seconds": {"1": round(one, 1), str(args.workers): round(many, 1)},
        "speedup": round(one / many, 3),
        "gain_per_extra_worker": round((one / many - 1) / (args.workers - 1), 3),
        "same_curve": bool(curves[1].equals(curves[args.workers])),
    }
