"""What a run costs in core-hours, from step costs measured on this machine (``--dry-run``).

A run's cost is the sum of its parts, each priced per env step for its task:

    training    steps of its learner        × ``train[kind][task]``
    crossover   GPO's hybrid and child steps × ``crossover[task]``  (DAgger, selector, child)
    evaluation  deterministic episode steps × ``evaluation[task]``

``kind`` is how the learner's steps are taken: ``population`` (m members of the paper's PPO
learner in lockstep: GPO's mutation, Single), ``joint`` (one policy, m environments),
``ppo-kl``, ``ppo`` (clipped) and ``a2c``. The step costs come from
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
from dataclasses import dataclass
from importlib import resources

import gymnasium as gym

from bench.runs.algorithms import RunSpec

COSTS_FILE = "step-costs.json"
KINDS = ("population", "joint", "ppo-kl", "ppo", "a2c")


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
        data = json.loads(resources.files("bench").joinpath("data", COSTS_FILE).read_text())
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> StepCosts:
        return cls(data["train"], data["crossover"], data["evaluation"], data["obs_dims"])

    def nearest(self, task: str) -> str:
        """``task`` if it was measured, else the measured task nearest in observation size."""
        if task in self.obs_dims:
            return task
        dim = gym.make(task).observation_space.shape[0]
        return min(self.obs_dims, key=lambda t: (abs(self.obs_dims[t] - dim), t))


def _kind(spec: RunSpec) -> str:
    from gpo.core.a2c import A2CConfig

    config = spec.config
    if isinstance(config.learner, A2CConfig):
        return "a2c"
    if spec.family in ("gpo", "single"):
        return "population"
    if config.learner.n_envs > 1:
        return "joint"
    return "ppo-kl" if config.learner.objective == "kl_penalty" else "ppo"


def _evaluations(budget: int, every: int) -> int:
    """Evaluations of one policy over ``budget`` steps on the schedule (and one at the end)."""
    return (budget - 1) // every + 1 if every else 0


def gpo_evaluations_per_member(config) -> int:
    """How often GPO evaluates each member: the schedule's points within phases (a phase's end
    standing in for a point it follows by less than the interval, as ``gpo.core.trainer`` decides)
    and every phase's end."""
    every, size = config.eval_every_steps, config.learner.n_steps * config.learner.n_envs
    count = config.rounds
    for k in range(config.rounds):
        offset = k * (config.mutation_steps(0) + config.crossover_steps_per_child)
        total = config.mutation_steps(k)
        ends = list(range(size, total, size))  # iteration ends before the phase's last one
        for before, now in zip([0, *ends], ends):
            point = (offset + now) // every * every if every else 0
            crossed = every and (offset + now) // every > (offset + before) // every
            count += bool(crossed and offset + total >= point + every)
    return count


def run_seconds(spec: RunSpec, costs: StepCosts) -> dict[str, float]:
    """Estimated core-seconds of one run, by part (``training``, ``crossover``, ``evaluation``)."""
    config = spec.config
    task = costs.nearest(config.env_id)
    episode = gym.spec(config.env_id).max_episode_steps or 1000
    per_eval = config.eval_episodes * episode
    kind = _kind(spec)
    if spec.family == "gpo":
        m, crossover_steps = config.population, config.crossover_steps_per_child
        crossovers = (config.rounds - 1) * m
        mutation = m * config.mutation_steps_per_policy
        # every member on the schedule and at phase ends, every child once after its crossover
        evaluations = m * gpo_evaluations_per_member(config)
        evaluations += crossovers if config.crossover is not None else 0
        return {
            "training": mutation * costs.train[kind][task],
            "crossover": crossovers * crossover_steps * costs.crossover[task],
            "evaluation": evaluations * per_eval * costs.evaluation[task],
        }
    if spec.family == "single":
        m = config.population
        evaluations = m * _evaluations(config.steps_per_policy, config.eval_every_steps)
        steps = m * config.steps_per_policy
    else:
        evaluations = _evaluations(config.total_steps, config.eval_every_steps)
        steps = config.total_steps
    return {
        "training": steps * costs.train[kind][task],
        "crossover": 0.0,
        "evaluation": evaluations * per_eval * costs.evaluation[task],
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
