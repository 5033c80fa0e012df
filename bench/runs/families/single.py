"""The paper's *Single*: m independent policies on the per-policy budget, the best one reported
(``baselines.single``)."""

from __future__ import annotations

import pandas as pd

from baselines.single import SingleConfig, run_single
from bench.artifacts.policies import policies_payload
from bench.runs.families.base import CostParts, Family, Request, evaluations
from bench.runs.results import CURVE_FILE
from gpo.core.trainer import EVAL_SEED_OFFSET


class Single(Family):
    name = "single"
    uses = ("population",)

    def configure(self, request: Request) -> SingleConfig:
        return SingleConfig(**request.population_fields())

    def execute(self, config: SingleConfig, checkpointer, algo: str):
        result = run_single(config, checkpointer)
        member_curves = pd.concat(
            [pd.DataFrame(rows).assign(member=i) for i, rows in enumerate(result.member_curves)]
        )
        policies = policies_payload(
            algo,
            config.env_id,
            config.env_kwargs,
            config.policy,
            result.policies,
            [config.member_config(slot).seed + EVAL_SEED_OFFSET for slot in range(config.population)],
            [m["eval_return"] for m in result.final_members],
            config.eval_episodes,
        )
        tables = {
            CURVE_FILE: pd.DataFrame(result.curve),
            "members.parquet": pd.DataFrame(result.final_members),
            "member_curves.parquet": member_curves,
        }
        return tables, policies

    def env_steps(self, config: SingleConfig) -> int:
        return config.population * config.steps_per_policy

    def parallel_members(self, config: SingleConfig) -> int:
        return config.population

    def cost_parts(self, config: SingleConfig) -> CostParts:
        m = config.population
        return CostParts(
            self.cost_kind(config),
            m * config.steps_per_policy,
            0,
            m * evaluations(config.steps_per_policy, config.eval_every_steps),
        )
