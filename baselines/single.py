"""The paper's *Single* baseline (Section 4): m policies trained independently, each on its own
per-policy budget, with the same learner as GPO. The curve reports the best member (highest
evaluation return, as GPO's curve does) and the pooled population; every member's own curve is
kept too (``member_curves``), for the paper's Figure 5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from gpo.core.a2c import A2CConfig
from gpo.core.curves import population_row
from gpo.core.parallel import TaskPool, groups, single_threaded
from gpo.core.policy import PolicyConfig
from gpo.core.ppo import PPOConfig
from gpo.core.seeding import derive_seed
from gpo.core.trainer import Checkpointer, TrainConfig, train_policies


@dataclass(frozen=True)
class SingleConfig:
    env_id: str
    steps_per_policy: int
    population: int = 8
    seed: int = 0
    learner: PPOConfig | A2CConfig = field(default_factory=PPOConfig.kl_penalty)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    workers: int = 1
    eval_every_steps: int = 20_480  # per policy; see gpo.core.trainer.TrainConfig
    eval_episodes: int = 5
    env_kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.population < 1 or self.workers < 1:
            raise ValueError("population and workers must be >= 1")
        self.member_config(0)  # validates budget, seed and evaluation settings

    def member_config(self, slot: int) -> TrainConfig:
        return TrainConfig(
            self.env_id,
            self.steps_per_policy,
            seed=derive_seed(self.seed, "init", slot),
            learner=self.learner,
            policy=self.policy,
            eval_every_steps=self.eval_every_steps,
            eval_episodes=self.eval_episodes,
            env_kwargs=self.env_kwargs,
        )


@dataclass
class SingleResult:
    curve: list[dict]
    member_curves: list[list[dict]]
    final_members: list[dict]
    wall_seconds: float
    policies: list[dict] = field(default_factory=list)  # each member's final ActorCritic state


def run_single(config: SingleConfig, checkpointer: Checkpointer | None = None) -> SingleResult:
    """Train the m members (each resumable from its own checkpoint, ``member<i>``)."""
    start = time.perf_counter()
    single_threaded()
    pool = TaskPool(config.workers)
    try:
        # Each worker trains its members in lockstep, their networks batched (gpo.core.batched).
        tasks = [
            ([config.member_config(s) for s in slots], checkpointer, [f"member{s}" for s in slots])
            for slots in groups(config.population, config.workers)
        ]
        trained = [member for group in pool.map(train_policies, tasks) for member in group]
    finally:
        pool.close()
    curves = [curve for curve, _ in trained]
    # Members share budget and iteration sizes, so their rows line up iteration by iteration.
    curve = [{"iteration": rows[0]["iteration"], **population_row(list(rows))} for rows in zip(*curves)]
    final = [
        {"member": i, "eval_return": rows[-1]["eval_return"], "train_return": rows[-1]["return_mean"]}
        for i, rows in enumerate(curves)
    ]
    policies = [policy for _, policy in trained]
    return SingleResult(curve, curves, final, time.perf_counter() - start, policies)


def joint_config(config: SingleConfig) -> TrainConfig:
    """The paper's *Joint* baseline: ONE policy trained on all m policies' samples, m × the
    per-policy budget with an m× larger batch (m× the environments) and the same number of
    gradient steps per iteration (same epochs and minibatch count, m× larger minibatches)."""
    m = config.population
    learner = replace(config.learner, n_envs=config.learner.n_envs * m)
    member = config.member_config(0)
    # Its steps are m policies' worth, so it evaluates every m × eval_every_steps of its own: at
    # the same points of the per-policy budget as Single and GPO.
    return replace(
        member,
        total_steps=config.steps_per_policy * m,
        seed=config.seed,
        learner=learner,
        eval_every_steps=config.eval_every_steps * m,
    )
