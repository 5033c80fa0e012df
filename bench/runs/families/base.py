"""What every run family is: one object that builds a run, executes it, names its members,
counts its env steps and its cost parts (``bench.runs.families`` registers them).

A family is a kind of run with its own executor and records: one plain policy (``plain.py``,
Joint included), the paper's *Single* (``single.py``) and GPO (``gpo.py``). An algorithm name
(``bench.runs.algorithms``) picks a family, a learner and the family's own switches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gpo.core.policy import PolicyConfig


@dataclass(frozen=True)
class Request:
    """One run as asked, before its family builds the configuration: what a suite's entry or
    ``train``'s flags say, validated by ``bench.runs.algorithms.build_run``."""

    env_id: str
    steps_per_policy: int  # env steps per policy, the paper's unit
    seed: int
    population: int
    rounds: int
    env_kwargs: dict
    eval_every_steps: int
    eval_episodes: int
    policy: PolicyConfig
    learner: Callable[[], Any]  # the learner's configuration (PPOConfig.kl_penalty, A2CConfig, ...)
    fields: dict = field(default_factory=dict)  # the family's own switches (GPO's crossover=None, ...)
    workers: int = 1  # member worker processes: how fast, never what (not part of the run's identity)

    @property
    def evaluation(self) -> dict:
        return {"eval_every_steps": self.eval_every_steps, "eval_episodes": self.eval_episodes}

    def population_fields(self) -> dict:
        """The fields a population's configuration (``SingleConfig``, ``GPOConfig``) shares, with a
        fresh learner configuration."""
        return {
            "env_id": self.env_id,
            "steps_per_policy": self.steps_per_policy,
            "population": self.population,
            "seed": self.seed,
            "learner": self.learner(),
            "policy": self.policy,
            "workers": self.workers,
            "env_kwargs": self.env_kwargs,
            **self.evaluation,
        }


@dataclass(frozen=True)
class CostParts:
    """What a run does, priced by ``bench.runs.planning``: training env steps of one step-cost
    kind, crossover env steps, and evaluations (deterministic episodes' batches)."""

    kind: str  # a row of the step-cost table (``bench.runs.planning.KINDS``)
    training_steps: int
    crossover_steps: int
    evaluations: int


Tables = dict[str, pd.DataFrame]


class Family:
    """The interface each family implements; ``name`` is what ``run.json`` records."""

    name: str
    uses: tuple[str, ...] = ()  # the suite fields (besides the budget) it reads

    def configure(self, request: Request) -> Any:
        """The run's typed configuration (ValueError for one it does not accept)."""
        raise NotImplementedError

    def execute(self, config: Any, checkpointer, algo: str) -> tuple[Tables, dict]:
        """Run ``config`` to its budget, resuming from ``checkpointer``: its tables by file name,
        and its final policies (``bench.artifacts.policies``)."""
        raise NotImplementedError

    def env_steps(self, config: Any) -> int:
        """Training env steps the run consumes (m × the per-policy budget for a population)."""
        raise NotImplementedError

    def parallel_members(self, config: Any) -> int:
        """Policies that train side by side (so at most this many member workers help)."""
        return 1

    def held_members(self, config: Any) -> int:
        """Policies or environments the run holds in memory at once."""
        return self.parallel_members(config)

    def cost_kind(self, config: Any) -> str:
        """The step-cost kind its training steps are priced at: a population's members in lockstep
        (``population``), or an A2C's own. Cheap for any size (``planning.size_error`` asks it first)."""
        return learner_kind(config.learner, "population")

    def cost_parts(self, config: Any) -> CostParts:
        raise NotImplementedError

    # Where a run can save its state (a checkpoint a requeued or resumed attempt starts from): a
    # learner iteration's end for one policy and for Single's members in lockstep.
    safe_point = "a learner iteration's end"

    def safe_point_stretch(self, config: Any, seconds: dict[str, float], speedup: float) -> float:
        """The longest wall time between two of the run's safe points, from its cost by part
        (``planning.run_seconds``) on member workers ``speedup`` times faster than one."""
        learner = config.learner
        batch = learner.n_steps * learner.n_envs * self.parallel_members(config)
        iterations = max(1, -(-self.env_steps(config) // batch))
        return sum(seconds.values()) / iterations / speedup


def evaluations(budget: int, every: int) -> int:
    """Evaluations of one policy over ``budget`` steps on the schedule (and one at the end)."""
    return (budget - 1) // every + 1 if every else 0


def learner_kind(learner: Any, otherwise: str) -> str:
    """The step-cost kind of a learner: an A2C's own (the paper's Adam A2C, one step a batch, or
    SB3's RMSprop A2C, a step every few env steps), else ``otherwise``."""
    from gpo.core.a2c import A2CConfig

    if isinstance(learner, A2CConfig):
        return "a2c-sb3" if learner.optimizer == "rmsprop" else "a2c"
    return otherwise
