"""``costs`` and ``joint-scaling``: core-seconds per env step of each kind of training, the table
``gpo-bench run --dry-run`` prices runs with (``bench/data/step-costs.json``, ``bench.runs.planning``)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym

from bench.perf import (
    limit_threads,
)
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import TrainConfig, Trainer


def joint_scaling(args: argparse.Namespace) -> dict:
    """Joint's training cost per env step at each population size, alternating rounds."""
    limit_threads()
    from baselines.single import SingleConfig, joint_config

    samples: dict[int, list[float]] = {m: [] for m in args.population}
    for _ in range(args.rounds):
        for m in args.population:
            config = joint_config(SingleConfig(args.env, args.steps, population=m, eval_every_steps=0))
            trainer = Trainer(config)
            start = time.perf_counter()
            trainer.run()
            samples[m].append((time.perf_counter() - start) / config.total_steps)
            trainer.close()
    result: dict = {"env": args.env, "steps_per_policy": args.steps, "rounds": args.rounds}
    for m, values in samples.items():
        result[f"m{m}_us_per_step"] = round(1e6 * statistics.median(values), 1)
    return result


def suite_tasks() -> list[str]:
    from bench.runs.suite import load_suite, shipped

    return sorted({env for name in shipped() for env in load_suite(name).envs})


PLAIN_KINDS = ("joint", "ppo-kl", "ppo", "a2c", "a2c-sb3")  # the kinds measured as one plain run


def plain_configs(task: str, steps: int) -> dict:
    """The plain (one-policy) training of each plain step-cost kind, ``steps`` per policy."""
    from baselines.single import SingleConfig, joint_config
    from gpo.core.a2c import A2CConfig

    single = SingleConfig(task, steps, population=4, eval_every_steps=0)
    return {
        "joint": joint_config(single),
        "ppo-kl": TrainConfig(task, steps, learner=PPOConfig.kl_penalty(), eval_every_steps=0),
        "ppo": TrainConfig(task, steps, learner=PPOConfig(), eval_every_steps=0),
        "a2c": TrainConfig(task, steps, learner=A2CConfig.paper(), eval_every_steps=0),
        "a2c-sb3": TrainConfig(task, steps, learner=A2CConfig.sb3(), eval_every_steps=0),
    }


def plain_seconds(train_config: TrainConfig) -> float:
    """Core-seconds per env step of one plain training run."""
    trainer = Trainer(train_config)
    start = time.perf_counter()
    trainer.run()
    trainer.close()
    return (time.perf_counter() - start) / train_config.total_steps


def step_costs(task: str, steps: int) -> dict:
    """Core-seconds per env step on ``task``, each kind measured on its own, one thread."""
    from gpo.core.evaluation import evaluate_together
    from gpo.core.parallel import TaskPool
    from gpo.gpo import GPO, GPOConfig
    from gpo.population import Member

    m = 4
    config = GPOConfig(task, 2 * steps + 5120, population=m, rounds=2, eval_every_steps=0, eval_episodes=1)
    run = GPO(config)
    run.run_round(TaskPool(1))  # round 0: the members' mutation in lockstep, then 4 crossovers
    record = run.rounds[0]
    agents = [Member.from_state(run.spec, state).agent for state in run.members]
    envs = [gym.make(task) for _ in agents]
    start = time.perf_counter()
    evaluated = evaluate_together(agents, envs, 2, seeds=0)
    evaluation = (time.perf_counter() - start) / sum(n for _, n in evaluated)
    for env in envs:
        env.close()
    mutation_steps = m * config.mutation_steps(0)
    crossover_steps = sum(c["env_steps"] for c in run.crossovers)
    child_eval = sum(c["eval_steps"] + c["hybrid_eval_steps"] for c in run.crossovers) * evaluation
    train = {"population": (record["seconds_mutation"] - record["seconds_evaluation"]) / mutation_steps}
    train.update({kind: plain_seconds(c) for kind, c in plain_configs(task, steps).items()})
    return {
        "train": train,
        "crossover": (record["seconds_crossover"] - child_eval) / crossover_steps,
        "evaluation": evaluation,
        "obs_dim": int(run.spec.obs_dim),
    }


def costs(args: argparse.Namespace) -> dict:
    """Measure each task's step costs and merge them into the table at ``--out``: the tasks
    measured replace their rows, every other task keeps its own (a table is never cut down to
    the tasks of one call). ``by_task`` says when, where and at which commit each row was
    measured; the top-level fields describe the latest full call.

    ``--kind K`` measures only plain kind K (repeatable: a kind added to the table, such as the
    paper's A2C, without re-measuring the rest): its rows' provenance goes to ``by_kind[K][task]``
    and nothing else changes. Calibration factors are per kind, so a row measured on another
    machine than the rest still prices correctly once calibrated."""
    limit_threads()
    from bench.envs import env_kwargs_for  # noqa: F401  (registers the Hilly tasks)
    from bench.runs.planning import KINDS
    from bench.runs.results import cpu_record, git_commit

    tasks = args.env or suite_tasks()
    kinds = getattr(args, "kind", None) or []
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = Path(args.out) if args.out else None
    table = previous_table(out, KINDS)
    for task in tasks:
        if kinds:
            configs = plain_configs(task, args.steps)
            measured = {"train": {kind: plain_seconds(configs[kind]) for kind in kinds}}
        else:
            measured = step_costs(task, args.steps)
            table["crossover"][task] = measured["crossover"]
            table["evaluation"][task] = measured["evaluation"]
            table["obs_dims"][task] = measured["obs_dim"]
        for kind, seconds in measured["train"].items():
            table["train"][kind][task] = seconds
        print(f"{task}: {json.dumps(measured)}", file=sys.stderr, flush=True)
    command = "python -m bench.perf costs" + "".join(f" --env {t}" for t in args.env or ())
    provenance = {
        "command": command + "".join(f" --kind {k}" for k in kinds),
        "steps": args.steps,
        "threads": 1,
        "unit": "core-seconds per env step",
        # Where and when: step costs move with the code and the machine (README, Performance).
        "measured": f"{start} to {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        "commit": git_commit(),
        "cpu": cpu_record()["model"],
    }
    if kinds:
        for kind in kinds:
            table.setdefault("by_kind", {}).setdefault(kind, {}).update(dict.fromkeys(tasks, provenance))
    else:
        table["by_task"].update(dict.fromkeys(tasks, provenance))
        table.update(provenance)
    if out:
        from bench.runs.results import write_json

        write_json(out, table)
    return {"tasks": tasks, "out": args.out}


PROVENANCE = ("command", "steps", "threads", "unit", "measured", "commit", "cpu")


def previous_table(path: Path | None, kinds) -> dict:
    """The step-cost table at ``path`` to merge into (an empty one where there is none). A table
    written before ``by_task`` existed gets its rows' provenance from its top-level fields."""
    empty = {"train": {kind: {} for kind in kinds}, "crossover": {}, "evaluation": {}, "obs_dims": {}}
    if path is None or not path.exists():
        return {**empty, "by_task": {}}
    table = json.loads(path.read_text())
    for kind in kinds:
        table["train"].setdefault(kind, {})
    if "by_task" not in table:
        shared = {k: table[k] for k in PROVENANCE if k in table}
        table["by_task"] = {task: shared for task in table["obs_dims"]}
    return table


CALIBRATION_TASK = "HalfCheetah-v5"


def calibrate(steps: int = 4096) -> dict:
    """This machine's step costs against the shipped table's, kind by kind, on one task
    (``CALIBRATION_TASK``, about 10 s): the factors ``bench.runs.planning`` scales the table by
    for every task (``gpo-bench calibrate`` caches them per host and CPU)."""
    limit_threads()
    from bench.runs.planning import StepCosts
    from bench.runs.results import cpu_record, git_commit

    shipped = StepCosts.shipped()
    measured = step_costs(CALIBRATION_TASK, steps)
    factors = {
        kind: measured["train"][kind] / shipped.train[kind][CALIBRATION_TASK] for kind in measured["train"]
    }
    factors["crossover"] = measured["crossover"] / shipped.crossover[CALIBRATION_TASK]
    factors["evaluation"] = measured["evaluation"] / shipped.evaluation[CALIBRATION_TASK]
    return {
        "factors": {k: round(v, 4) for k, v in factors.items()},
        "task": CALIBRATION_TASK,
        "steps": steps,
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu": cpu_record()["model"],
        "commit": git_commit(),
    }
