"""Evaluation episodes: the deterministic mean action μ_θ(s) on an environment used for nothing
else. Its steps are reported apart and never counted as training samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from gpo.core.batched import StackedPolicies
from gpo.core.policy import ActorCritic
from gpo.core.vector_env import LockstepEnvs


def evaluate(agent: ActorCritic, env: gym.Env, n_episodes: int, seed: int) -> tuple[list[float], int]:
    """Returns of ``n_episodes`` deterministic episodes and the steps they took.

    The env is reset with the same ``seed`` at every evaluation, so successive evaluations of a
    run start from the same states and differ only through the policy.
    """
    return evaluate_together([agent], [env], n_episodes, seed)[0]


def evaluate_together(
    agents: Sequence[ActorCritic], envs: Sequence[gym.Env], n_episodes: int, seeds: int | Sequence[int]
) -> list[tuple[list[float], int]]:
    """:func:`evaluate` for k agents at once, agent j on ``envs[j]`` reset with ``seeds[j]`` (one
    ``seeds`` for all: the agents start their episodes from the same states), the k policies
    computed as one batch at every step. Each agent's numbers are exactly what it gets evaluated
    alone; agents whose episode has ended wait for the others."""
    return evaluate_stacked(StackedPolicies(agents), envs, n_episodes, seeds)


def evaluate_stacked(
    policies, envs: Sequence[gym.Env], n_episodes: int, seeds: int | Sequence[int]
) -> list[tuple[list[float], int]]:
    """:func:`evaluate_together` for any k deterministic policies computed as one batch:
    ``policies.mean_action`` maps raw states (k, 1, O) to actions (k, 1, A) (GPO's hybrids π_H,
    ``gpo.dagger.Hybrids``, as well as members' networks)."""
    k = len(envs)
    seeds = [seeds] * k if isinstance(seeds, int) else list(seeds)
    low, high = envs[0].action_space.low, envs[0].action_space.high
    # Each env stepped as LockstepEnvs steps it (gym.make's wrappers and gymnasium's per-step Python
    # skipped where gpo.core.task_step applies, the same transitions); it resets an env whose episode
    # ended, as an evaluation must.
    steppers = [LockstepEnvs([lambda env=env: env]) for env in envs]
    returns: list[list[float]] = [[] for _ in range(k)]
    steps = [0] * k
    obs = np.stack([stepper.reset(seed=s)[0] for stepper, s in zip(steppers, seeds)])  # (k, 1, O)
    reward = np.empty(1)  # each step's reward, written by the stepper
    for _ in range(n_episodes):
        totals = [0.0] * k
        running = list(range(k))
        while running:
            actions = policies.mean_action(obs)  # all k: a finished agent's row is not used
            still = []
            for j in running:
                action = np.minimum(np.maximum(actions[j], low), high)  # np.clip's arithmetic
                ended = steppers[j].step_into(action, obs[j], reward)
                totals[j] += float(reward[0])
                steps[j] += 1
                if ended:
                    returns[j].append(totals[j])  # obs[j] is already the next episode's first
                else:
                    still.append(j)
            running = still
    return [(returns[j], steps[j]) for j in range(k)]
