"""One policy trained alone: ``ppo``, ``ppo-kl``, ``a2c``, and the paper's *Joint* (one policy on
m environments with an m× batch, ``baselines.single.joint_config``), which runs as a plain policy."""

from __future__ import annotations

import pandas as pd

from baselines.single import joint_config
from bench.artifacts.policies import policies_payload
from bench.runs.families.base import CostParts, Family, Request, evaluations, learner_kind
from bench.runs.families.single import Single
from bench.runs.results import CURVE_FILE
from gpo.core.trainer import EVAL_SEED_OFFSET, TrainConfig, train_policy


class Plain(Family):
    name = "plain"
    uses = ()

    def configure(self, request: Request) -> TrainConfig:
        return TrainConfig(
            request.env_id,
            request.steps_per_policy,
            seed=request.seed,
            learner=request.learner(),
            policy=request.policy,
            env_kwargs=request.env_kwargs,
            **request.evaluation,
        )

    def execute(self, config: TrainConfig, checkpointer, algo: str):
        curve, state = train_policy(config, checkpointer)
        final = pd.DataFrame(curve)["eval_return"].dropna()
        policies = policies_payload(
            algo,
            config.env_id,
            config.env_kwargs,
            config.policy,
            [state],
            [config.seed + EVAL_SEED_OFFSET],
            [float(final.iloc[-1]) if len(final) else None],
            config.eval_episodes,
        )
        return {CURVE_FILE: pd.DataFrame(curve)}, policies

    def env_steps(self, config: TrainConfig) -> int:
        return config.total_steps

    def held_members(self, config: TrainConfig) -> int:
        return config.learner.n_envs  # Joint holds m environments

    def cost_kind(self, config: TrainConfig) -> str:
        kind = learner_kind(config.learner, "joint" if config.learner.n_envs > 1 else "")
        if not kind:  # one PPO policy: its objective's row
            kind = "ppo-kl" if config.learner.objective == "kl_penalty" else "ppo"
        return kind

    def cost_parts(self, config: TrainConfig) -> CostParts:
        return CostParts(
            self.cost_kind(config),
            config.total_steps,
            0,
            evaluations(config.total_steps, config.eval_every_steps),
        )


class Joint(Plain):
    """The paper's *Joint*: configured from the population, executed as one plain policy."""

    uses = ("population",)

    def configure(self, request: Request) -> TrainConfig:
        return joint_config(Single().configure(request))
