"""``kernels``: what the pinned numerical kernels (``gpo.core.kernels``) cost, measured on the work
they change and nothing else: the PPO updates (matmuls and tanh over a 2,048-step batch) and one
policy's action per step (small matmuls and ``np.tanh``), on synthetic data with HalfCheetah's
sizes, one thread. Run it pinned and with ``GPO_BENCH_KERNELS=native`` in alternating processes
(``results/perf/kernels.sh``); the environment's own stepping (MuJoCo) is the same either way.
"""

from __future__ import annotations

import argparse
import functools

import numpy as np

from bench.perf import best_seconds, limit_threads
from gpo.core import kernels
from gpo.core.learner import Batch
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPO, PPOConfig

OBS, ACT, BATCH = 17, 6, 2048  # HalfCheetah-v5's sizes, the paper's PPO batch


def kernel_costs(args: argparse.Namespace) -> dict:
    limit_threads()
    row: dict = {"kernels": kernels.record()}
    for name, config in (("clip", PPOConfig()), ("kl_penalty", PPOConfig.kl_penalty())):
        rng = np.random.default_rng(0)
        agent = ActorCritic(OBS, ACT, PolicyConfig(), rng)
        learner = PPO(config, agent)
        sizes = ((BATCH, OBS), (BATCH, ACT), BATCH, (BATCH, ACT))
        batch = Batch(
            *(rng.standard_normal(s) for s in sizes),
            agent.log_std.copy(),
            *(rng.standard_normal(BATCH) for _ in range(3)),
        )
        learner.make_batch = lambda rollout, extra, batch=batch: batch  # the update alone, on fixed data
        update = functools.partial(learner.update, agent, None, rng)
        row[f"update_{name}_seconds"] = best_seconds(update, 1, args.repeats)
    obs = np.random.default_rng(1).standard_normal((1, OBS))
    row["act_microseconds"] = 1e6 * best_seconds(lambda: agent.mean_action(obs), 2000, args.repeats)
    return row
