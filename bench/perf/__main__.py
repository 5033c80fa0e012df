"""``python -m bench.perf COMMAND``: the benchmarks listed in ``bench.perf``'s docstring."""

from __future__ import annotations

import argparse
import json

import gymnasium as gym
import numpy as np

from bench.perf import (
    OVERHEAD_ROUNDS,
    OVERHEAD_STEPS_PER_POLICY,
    PEER_LEARNERS,
)
from bench.perf import __doc__ as perf_doc
from bench.perf.costs import PLAIN_KINDS, costs, joint_scaling
from bench.perf.gpo_overhead import floor, gpo_overhead, profile
from bench.perf.kernels import kernel_costs
from bench.perf.stepping import collection, policy_stepping, stepping
from bench.perf.throughput import peer, throughput
from bench.perf.workers import workers
from gpo.core.policy import TRAINING_DTYPES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.perf", description=perf_doc.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("throughput", help="env vs ours vs SB3 PPO steps/s, side by side")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--steps", type=int, default=20480, help="PPO training steps per measurement")
    p.add_argument("--env-steps", type=int, default=20000, help="bare env steps per measurement")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--training-dtype", choices=TRAINING_DTYPES, default="float64", help="of our PPO's passes")
    p = sub.add_parser("stepping", help="steps/s through each layer: vector env, env, ours, mj_step")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--env-steps", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("peer", help="final returns of ours vs SB3's PPO (or A2C) with the same settings")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--learner", choices=PEER_LEARNERS, default="ppo", help="ppo, or SB3's A2C")
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--seeds", type=int, default=3)
    p = sub.add_parser("gpo-overhead", help="GPO vs Single steps/s on the same budget")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--steps-per-policy", type=int, default=OVERHEAD_STEPS_PER_POLICY)
    p.add_argument("--rounds", type=int, default=OVERHEAD_ROUNDS)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--env-steps", type=int, default=20000, help="bare env steps per measurement")
    p.add_argument("--training-dtype", choices=TRAINING_DTYPES, default="float64", help="learners' passes")
    p = sub.add_parser("kernels", help="the pinned kernels' cost: PPO updates and actions, one thread")
    p.add_argument("--repeats", type=int, default=5, help="best of this many timings")
    p = sub.add_parser("profile", help="cProfile of one GPO run: wall time by part, top functions")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--steps-per-policy", type=int, default=61_440 + 2 * 5120)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--top", type=int, default=20)
    p = sub.add_parser("policy-stepping", help="env step cost under a trained policy vs random actions")
    p.add_argument("--run", required=True, help="a finished run's folder (its policies.pt)")
    p.add_argument("--env-steps", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("joint-scaling", help="Joint's training cost per env step at each population")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, action="append", help="repeatable; default 4 and 8")
    p.add_argument("--steps", type=int, default=8192, help="steps per policy")
    p.add_argument("--rounds", type=int, default=2)
    p = sub.add_parser("collection", help="collection's own cost per step, the env stubbed out")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--steps", type=int, default=2048)
    p.add_argument("--rounds", type=int, default=7)
    p = sub.add_parser("floor", help="the learners' unavoidable float64 arithmetic against the env")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--env-steps", type=int, default=20000, help="bare env steps per measurement")
    p.add_argument("--rounds", type=int, default=5)
    p = sub.add_parser("workers", help="one GPO run's wall time with 1 and with W member workers")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--steps-per-policy", type=int, default=OVERHEAD_STEPS_PER_POLICY)
    p.add_argument("--rounds", type=int, default=OVERHEAD_ROUNDS)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p = sub.add_parser("costs", help="core-seconds per env step of each kind, per task (bench.runs.planning)")
    p.add_argument("--env", action="append", help="a task (repeatable); default: every suite's tasks")
    p.add_argument("--steps", type=int, default=8192, help="steps per member measured")
    p.add_argument("--out", default="bench/data/step-costs.json")
    p.add_argument(
        "--kind",
        action="append",
        choices=PLAIN_KINDS,
        help="measure only this plain kind (repeatable), merging its rows into the table",
    )
    args = parser.parse_args(argv)
    if args.command == "joint-scaling":
        args.population = args.population or [4, 8]
    for name in ("steps", "env_steps", "rounds", "seeds", "population", "steps_per_policy", "repeats"):
        if min(np.atleast_1d(getattr(args, name, 1))) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.command == "workers" and args.workers < 2:
        parser.error(f"--workers must be >= 2 (it is measured against one), got {args.workers}")
    if args.command in ("gpo-overhead", "profile", "floor", "workers") and args.population < 2:
        parser.error(f"--population must be >= 2 (GPO's selection pairs its members), got {args.population}")
    from bench.envs import env_kwargs_for  # noqa: F401  (registers the Hilly tasks)

    for task in np.atleast_1d(getattr(args, "env", None) or []):
        if task not in gym.registry:
            parser.error(f"--env {task}: no such task (a gymnasium id, e.g. HalfCheetah-v5 or gpo_bench/...)")
    commands = {
        "throughput": throughput,
        "kernels": kernel_costs,
        "peer": peer,
        "gpo-overhead": gpo_overhead,
        "stepping": stepping,
        "costs": costs,
        "profile": profile,
        "policy-stepping": policy_stepping,
        "joint-scaling": joint_scaling,
        "collection": collection,
        "floor": floor,
        "workers": workers,
    }
    result = commands[args.command](args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
