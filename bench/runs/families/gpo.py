"""GPO (Algorithm 1, ``gpo.gpo``) and its ablations: the population's mutation, selection and
crossover over rounds; its switches (``crossover=None``, a parameter-space crossover, ...) are
``GPOConfig`` fields set by the algorithm's name (``bench.runs.algorithms``)."""

from __future__ import annotations

import pandas as pd

from bench.artifacts.policies import policies_payload
from bench.runs.families.base import CostParts, Family, Request
from bench.runs.results import CURVE_FILE
from gpo.core.seeding import derive_seed
from gpo.gpo import GPO, SEGMENT_SECONDS, GPOConfig


class GPOFamily(Family):
    name = "gpo"
    uses = ("population", "rounds")

    def configure(self, request: Request) -> GPOConfig:
        return GPOConfig(**request.population_fields(), rounds=request.rounds, **request.fields)

    def execute(self, config: GPOConfig, checkpointer, algo: str):
        run = GPO(config).run(checkpointer)
        policies = policies_payload(
            algo,
            config.env_id,
            config.env_kwargs,
            config.policy,
            [state["agent"] for state in run.members],
            [derive_seed(config.seed, "evaluation")] * len(run.members),
            [m["eval_return"] for m in run.final_members],
            config.eval_episodes,
        )
        tables = {
            CURVE_FILE: pd.DataFrame(run.curve),
            "rounds.parquet": pd.DataFrame(run.rounds),
            "crossovers.parquet": pd.DataFrame(run.crossovers),
            "members.parquet": pd.DataFrame(run.final_members),
        }
        return tables, policies

    def env_steps(self, config: GPOConfig) -> int:
        return config.total_steps

    def parallel_members(self, config: GPOConfig) -> int:
        return config.population

    # GPO saves within its mutation phases about every SEGMENT_SECONDS (after a learner
    # iteration) and at rounds' ends; a crossover phase has no safe point inside.
    safe_point = "learner iterations within its mutation phases and rounds' ends"

    def safe_point_stretch(self, config: GPOConfig, seconds: dict[str, float], speedup: float) -> float:
        """A segment of a mutation phase (about ``SEGMENT_SECONDS``, at least one iteration of
        every member), then a whole crossover phase with the evaluations around it."""
        learner = config.learner
        iterations = max(1, config.mutation_steps_per_policy // (learner.n_steps * learner.n_envs))
        iteration = seconds["training"] / iterations / speedup
        between = (seconds["crossover"] + seconds["evaluation"]) / config.rounds / speedup
        return max(SEGMENT_SECONDS, iteration) + between

    def cost_parts(self, config: GPOConfig) -> CostParts:
        m = config.population
        crossovers = (config.rounds - 1) * m
        # every member on the schedule and at phase ends, every child once after its crossover,
        # and each state-space crossover's hybrid π_H once (its return in the crossovers table)
        count = m * evaluations_per_member(config)
        if config.crossover is not None:
            count += crossovers * (2 if config.crossover.kind == "state" else 1)
        return CostParts(
            self.cost_kind(config),
            m * config.mutation_steps_per_policy,
            crossovers * config.crossover_steps_per_child,
            count,
        )


def evaluations_per_member(config: GPOConfig) -> int:
    """How often GPO evaluates each member: the schedule's points within phases (a phase's end
    standing in for a point it follows by less than the interval, as ``gpo.core.trainer`` decides)
    and every phase's end."""
    every, size = config.eval_every_steps, config.learner.n_steps * config.learner.n_envs
    count = config.rounds
    if config.mutation_steps(0) > 10_000 * size:  # beyond any real run: the schedule's points, counted
        return count + (config.mutation_steps_per_policy // every if every else 0)
    for k in range(config.rounds):
        offset = k * (config.mutation_steps(0) + config.crossover_steps_per_child)
        total = config.mutation_steps(k)
        ends = list(range(size, total, size))  # iteration ends before the phase's last one
        for before, now in zip([0, *ends], ends):
            point = (offset + now) // every * every if every else 0
            crossed = every and (offset + now) // every > (offset + before) // every
            count += bool(crossed and offset + total >= point + every)
    return count
