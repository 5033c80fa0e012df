"""Evaluation episodes: the deterministic mean action μ_θ(s) on an environment used for nothing
else. Its steps are reported apart and never counted as training samples.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from gpo.policy import ActorCritic


def evaluate(agent: ActorCritic, env: gym.Env, n_episodes: int, seed: int) -> tuple[list[float], int]:
    """Returns of ``n_episodes`` deterministic episodes and the steps they took.

    The env is reset with the same ``seed`` at every evaluation, so successive evaluations of a
    run start from the same states and differ only through the policy.
    """
    returns, steps = [], 0
    obs, _ = env.reset(seed=seed)
    low, high = env.action_space.low, env.action_space.high
    for _ in range(n_episodes):
        total, done = 0.0, False
        while not done:
            action = np.clip(agent.mean_action(obs[None])[0], low, high)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            steps += 1
            done = terminated or truncated
        returns.append(total)
        obs, _ = env.reset()
    return returns, steps
