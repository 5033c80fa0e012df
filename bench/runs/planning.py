"""What a run costs in core-hours, from step costs measured on this machine (``--dry-run``).

A run's cost is the sum of its parts, each priced per env step for its task:

    training    steps of its learner        × ``train[kind][task]``
    crossover   GPO's hybrid and child steps × ``crossover[task]``  (DAgger, selector, child)
    evaluation  deterministic episode steps × ``evaluation[task]``

``kind`` is how the learner's steps are taken: ``population`` (m members of the paper's PPO
learner in lockstep: GPO's mutation, Single), ``joint`` (one policy, m environments),
``ppo-kl``, ``ppo`` (clipped), ``a2c`` (the paper's: one Adam step per 2,048-step batch) and
``a2c-sb3`` (SB3's: an RMSprop step every 20 steps); an A2C run of any family is priced at its
A2C's plain cost. The step costs come from
``python -m bench.perf costs`` (committed as ``bench/data/step-costs.json`` with the command and
date); a task it did not measure is priced as the measured task nearest in observation size,
and the estimate says so. Evaluation steps are counted as full episodes (the task's time limit):
learned policies mostly reach it, so the estimate errs on the high side for early terminations.
Runs with float32 training passes (``training_dtype``) are priced as float64 ones, on purpose:
lite's 12 runs of seed 0 took 0.428 core-hours with float32 passes (1e7882b) and 0.421 and 0.428
in float64 (ff490cc, 577f925), each measured against the same baseline on the same kind of machine
(results/perf/lite-core-hours-*.json), so a float32 table would move no estimate beyond the
model's own noise. README's Performance section says how the model was checked against measured runs.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import gymnasium as gym

from bench.runs.algorithms import RunSpec

COSTS_FILE = "step-costs.json"
KINDS = ("population", "joint", "ppo-kl", "ppo", "a2c", "a2c-sb3")


@dataclass(frozen=True)
class StepCosts:
    """Core-seconds per env step: ``train[kind][task]``, ``crossover[task]``, ``evaluation[task]``,
    and each measured task's observation size (to price unmeasured tasks)."""

    train: dict[str, dict[str, float]]
    crossover: dict[str, float]
    evaluation: dict[str, float]
    obs_dims: dict[str, int]

    @classmethod
    def shipped(cls) -> StepCosts:
        return cls.from_dict(_shipped_table())

    @classmethod
    def from_dict(cls, data: dict) -> StepCosts:
        return cls(data["train"], data["crossover"], data["evaluation"], data["obs_dims"])

    def scaled(self, factors: dict[str, float]) -> StepCosts:
        """The table with each kind of step cost multiplied by its factor (a calibration)."""
        return StepCosts(
            {
                kind: {task: s * factors.get(kind, 1.0) for task, s in row.items()}
                for kind, row in self.train.items()
            },
            {task: s * factors.get("crossover", 1.0) for task, s in self.crossover.items()},
            {task: s * factors.get("evaluation", 1.0) for task, s in self.evaluation.items()},
            self.obs_dims,
        )

    @classmethod
    def for_this_machine(cls) -> tuple[StepCosts, str]:
        """The shipped table scaled by this host's cached calibration (``gpo-bench calibrate``),
        if there is one, and a line saying which table prices the runs."""
        table = _shipped_table()
        shipped, cached = cls.from_dict(table), read_calibration()
        if cached is None:
            return shipped, (
                f"shipped step costs, measured {str(table.get('measured', '?'))[:10]} on "
                f"{table.get('cpu', '?')}; `gpo-bench calibrate` fits them to this machine"
            )
        factors = cached["factors"]
        typical = sorted(factors.values())[len(factors) // 2]
        return shipped.scaled(factors), (
            f"step costs calibrated on this machine ({cached['measured'][:10]}, "
            f"median {typical:.2f}x the shipped table)"
        )

    def nearest(self, task: str) -> str:
        """``task`` if it was measured, else the measured task nearest in observation size."""
        if task in self.obs_dims:
            return task
        with warnings.catch_warnings():  # MuJoCo's deprecation notes about a model's XML
            warnings.simplefilter("ignore")
            env = gym.make(task)
        dim = env.observation_space.shape[0]
        env.close()
        return min(self.obs_dims, key=lambda t: (abs(self.obs_dims[t] - dim), t))


def _shipped_table() -> dict:
    """``bench/data/step-costs.json``: the table and where and when it was measured."""
    return json.loads(resources.files("bench").joinpath("data", COSTS_FILE).read_text())


def run_seconds(spec: RunSpec, costs: StepCosts) -> dict[str, float]:
    """Estimated core-seconds of one run, by part (``training``, ``crossover``, ``evaluation``),
    from what its family says it does (``Family.cost_parts``)."""
    config = spec.config
    task = costs.nearest(config.env_id)
    episode = gym.spec(config.env_id).max_episode_steps or 1000
    parts = spec.family.cost_parts(config)
    return {
        "training": parts.training_steps * costs.train[parts.kind][task],
        "crossover": parts.crossover_steps * costs.crossover[task],
        "evaluation": parts.evaluations * config.eval_episodes * episode * costs.evaluation[task],
    }


def core_hours(specs: list[RunSpec], costs: StepCosts | None = None) -> tuple[float, list[str]]:
    """Estimated core-hours of ``specs`` and the tasks priced as another (unmeasured) one."""
    costs = costs or StepCosts.shipped()
    seconds = sum(sum(run_seconds(spec, costs).values()) for spec in specs)
    borrowed = sorted(
        {f"{s.config.env_id} as {costs.nearest(s.config.env_id)}" for s in specs}
        - {f"{t} as {t}" for t in costs.obs_dims}
    )
    return seconds / 3600, borrowed


# Sizes no one means, refused up front with the estimate that rules them out (issue #33):
MAX_RUN_CORE_HOURS = 8_760  # a core-year for one run (the paper's runs take about one core-hour)
MAX_SUITE_CORE_HOURS = 1_000_000  # a large cluster's yearly allocation for one launch
# What one population member holds at the least: its env (MuJoCo's model and data, 0.2-4 MiB
# measured), evaluation env, rollout storage, networks and optimiser state; a floor, not a typical.
MEMBER_BYTES = 16 * 2**20


def machine_memory() -> int:
    """Bytes of physical memory on this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def size_error(spec: RunSpec, costs: StepCosts | None = None) -> str | None:
    """Why a run like ``spec`` is too large to start, or None: more members than this
    machine's memory holds at ``MEMBER_BYTES`` each, or more than ``MAX_RUN_CORE_HOURS`` a run.
    Cheap for any size: the training steps are priced first, and evaluation only when they pass."""
    config = spec.config
    members = spec.family.held_members(config)
    memory = machine_memory()
    if members * MEMBER_BYTES > memory:
        return (
            f"{members:,} policies in one run need at least {members * MEMBER_BYTES / 2**30:,.0f} GiB "
            f"({MEMBER_BYTES // 2**20} MiB each), more than this machine's {memory / 2**30:.0f} GiB"
        )
    costs = costs or StepCosts.shipped()
    kind, task = spec.family.cost_kind(config), costs.nearest(config.env_id)
    steps = spec.env_steps
    hours = steps * costs.train[kind][task] / 3600
    if hours <= MAX_RUN_CORE_HOURS:
        hours = sum(run_seconds(spec, costs).values()) / 3600
    if hours > MAX_RUN_CORE_HOURS:
        return (
            f"one run would take about {hours:,.0f} core-hours ({steps:,} env steps), more than the "
            f"{MAX_RUN_CORE_HOURS:,} (a core-year) gpo-bench starts"
        )
    return None


def suite_size_error(configurations, costs: StepCosts | None = None) -> str | None:
    """Why a launch of ``configurations`` (a run and how many seeds it has, from
    ``Suite.configurations``) is too large, or None: a run too large (``size_error``), or more than
    ``MAX_SUITE_CORE_HOURS`` in all."""
    costs = costs or StepCosts.shipped()
    total = 0.0
    for run, copies in configurations:
        spec = run.spec()
        problem = size_error(spec, costs)
        if problem is not None:
            return f"{run.name}: {problem}"
        total += copies * sum(run_seconds(spec, costs).values()) / 3600
    if total > MAX_SUITE_CORE_HOURS:
        return (
            f"the launch would take about {total:,.0f} core-hours, more than the "
            f"{MAX_SUITE_CORE_HOURS:,} gpo-bench starts at once; narrow it with --algo, --env or --seeds"
        )
    return None


# A job's start (imports, making the envs, loading the checkpoint) takes about this long, and the
# time after SLURM's warning (GPO_BENCH_SLURM_SIGNAL_SECONDS before the limit): neither trains.
START_SECONDS = 30
# SLURM may send the warning up to 60 s before the lead it was asked for ("due to the resolution
# of event handling", sbatch --signal); on the test cluster it comes at slurmctld's first 30-s check
# inside lead + 30 s.
WARNING_EARLY_SECONDS = 60


def time_limit_error(time_min: int) -> str | None:
    """Why a SLURM time limit of ``time_min`` minutes is too short, or None: SLURM's warning must
    not come before a job has started, for before submitit's handler is in place SIGUSR2's default
    action kills the job without a result or a requeue. The limit must hold the warning's lead,
    SLURM's early allowance and the start."""
    from bench.runs import settings

    warning = settings.seconds("GPO_BENCH_SLURM_SIGNAL_SECONDS")
    shortest = math.ceil((warning + WARNING_EARLY_SECONDS + START_SECONDS) / 60)
    if time_min >= shortest:
        return None
    return (
        f"--time-min {time_min} is too short: SLURM warns a job {warning:.0f} s before its limit "
        f"(GPO_BENCH_SLURM_SIGNAL_SECONDS), maybe {WARNING_EARLY_SECONDS} s earlier, and a job takes "
        f"about {START_SECONDS} s to start; accepted: --time-min >= {shortest}"
    )


def attempts_needed(spec: RunSpec, time_min: int, costs: StepCosts | None = None) -> int:
    """How many SLURM attempts of ``time_min`` minutes a run needs by the cost model (one core)."""
    from bench.runs import settings

    seconds = sum(run_seconds(spec, costs or StepCosts.shipped()).values())
    warning = settings.seconds("GPO_BENCH_SLURM_SIGNAL_SECONDS")
    usable = max(time_min * 60 - warning - START_SECONDS, 30)
    return max(1, math.ceil(seconds / usable))


def safe_point_error(configurations, time_min: int, cpus: int, costs: StepCosts | None = None) -> str | None:
    """Why SLURM attempts of ``time_min`` minutes could never save a run's state, or None: a run
    saves only at its safe points (``Family.safe_point_stretch``), so an attempt that trains less than
    the stretch between two of them ends without a checkpoint, and every requeue starts again from
    the same place. ``configurations``: (run, seeds) pairs (``Suite.configurations``); each run
    has ``cpus`` member workers at most. By the cost model, so a necessary condition only."""
    from bench.runs import settings

    costs = costs or StepCosts.shipped()
    warning = settings.seconds("GPO_BENCH_SLURM_SIGNAL_SECONDS")
    usable = time_min * 60 - warning - START_SECONDS

    def stretch(spec: RunSpec) -> float:
        family, config = spec.family, spec.config
        workers = min(cpus, family.parallel_members(config))
        return family.safe_point_stretch(config, run_seconds(spec, costs), speedup(workers))

    stretches = {run.name.rsplit("/", 1)[0]: (stretch(run.spec()), run.spec()) for run, _ in configurations}
    name = max(stretches, key=lambda n: stretches[n][0])
    longest, spec = stretches[name]
    if longest <= usable:
        return None
    shortest = math.ceil((longest + warning + START_SECONDS) / 60)
    every = f"{spec.family.safe_point}, {longest / 60:.1f} min apart at most here by the cost model"
    trains = f"{max(usable, 0) / 60:.1f} min (the limit less SLURM's {warning:.0f}-s warning and the start)"
    return (
        f"--time-min {time_min} is too short for {name}: it saves its state only at {every}, and an "
        f"attempt trains at most {trains}, so no attempt would save anything; this suite needs "
        f"--time-min >= {shortest}"
    )


def calibration_path() -> Path:
    """This host's and CPU's calibration: ``$XDG_CACHE_HOME/gpo-bench/`` (else ``~/.cache``)."""
    import hashlib
    import os
    import socket

    from bench.runs.results import cpu_record

    cpu = cpu_record()
    key = hashlib.sha256(json.dumps([cpu.get("model"), cpu.get("simd")]).encode()).hexdigest()[:12]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gpo-bench"
    return root / f"step-costs-{socket.gethostname()}-{key}.json"


def read_calibration() -> dict | None:
    try:
        cached = json.loads(calibration_path().read_text())
    except (OSError, ValueError):
        return None
    return cached if isinstance(cached, dict) and isinstance(cached.get("factors"), dict) else None


# Members training in W worker processes instead of one: the speed-up of a second worker, measured
# on a GPO run (m = 8) side by side (results/perf/workers-*.json); further workers are assumed to
# add as much each (the crossover's fits and the evaluation stay in the run's main process).
SECOND_WORKER_GAIN = 0.75  # 1.75x with 2 workers: results/perf/workers-2026-12-07.json


def speedup(workers: int) -> float:
    """How much faster a run trains with ``workers`` member workers than with one."""
    return 1.0 + (workers - 1) * SECOND_WORKER_GAIN


def wall_hours(seconds: list[float], slots: int, cores: int, workers_for) -> float:
    """Hours until runs of ``seconds`` (core-seconds each on one worker) finish, started in order
    as soon as one of ``slots`` is free, each with ``workers_for(i, spare, starting)`` member
    workers: ``spare`` cores no running run holds, ``starting`` runs that can start with it."""
    import heapq

    running: list[tuple[float, int]] = []  # (finish, cores held)
    now = end = 0.0
    for i, cost in enumerate(seconds):
        while len(running) >= max(1, slots):
            now, _ = heapq.heappop(running)
        spare = max(1, cores - sum(held for _, held in running))
        starting = min(len(seconds) - i, max(1, slots) - len(running))
        workers = workers_for(i, spare, starting)
        finish = now + cost / speedup(workers)
        end = max(end, finish)
        heapq.heappush(running, (finish, workers))
    return end / 3600
