"""Data sharing between members during mutation (Section 3.1, optional; the ``gpo-data-sharing``
ablation): member i also learns from the samples of every member j whose policy is close to its
own, KL[π_i, π_j] < ε, measured at the start of the round (the symmetric divergence of
``gpo.selection``, over both members' recent states).

Member j's samples are importance-weighted for member i through PPO's (or A2C's) probability
ratio: the behaviour log-probabilities stay j's, so the ratio is π_i,θ(a|s) / π_j(a|s), and
PPO's clipping bounds the weights. Everything else is member i's: its observation normaliser,
its value function for GAE, its reward scale (applied, not updated), and its own old policy for
the KL penalty. The members are mutated in lockstep (all collect, then all update), in one
process; with data sharing on, the mutation phase does not spread over workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpo.core.gae import gae
from gpo.core.learner import Batch, Learner
from gpo.core.policy import ActorCritic
from gpo.core.rollout import Rollout
from gpo.selection import divergence_matrix

Array = np.ndarray


@dataclass(frozen=True)
class DataSharingConfig:
    enabled: bool = False
    max_kl: float = 0.5  # ε, in nats of symmetric KL averaged over states

    def __post_init__(self) -> None:
        if self.max_kl <= 0:
            raise ValueError(f"max_kl must be > 0, got {self.max_kl}")


def sharing_neighbours(agents: list[ActorCritic], states: list[Array], max_kl: float) -> list[list[int]]:
    """For each member, the other members it learns from this round."""
    divergence = divergence_matrix(agents, states)
    m = len(agents)
    return [[j for j in range(m) if j != i and divergence[i, j] < max_kl] for i in range(m)]


def shared_batch(agent: ActorCritic, learner: Learner, rollout: Rollout) -> Batch:
    """Another member's rollout as training samples for ``agent`` (call before its update)."""
    T, N = rollout.rewards.shape
    obs = agent.obs_normalizer(rollout.raw_obs)
    values = agent.value(obs)
    next_values = agent.value(agent.obs_normalizer(rollout.next_raw_obs))
    scaler = getattr(learner, "reward_scaler", None)
    rewards = rollout.rewards if scaler is None else scaler.scale(rollout.rewards)
    config = learner.config
    advantages, returns = gae(
        rewards, values, next_values, rollout.terminated, rollout.truncated, config.gamma, config.gae_lambda
    )
    flat_obs = obs.reshape(T * N, -1)
    return Batch(
        obs=flat_obs,
        actions=rollout.actions.reshape(T * N, -1),
        log_probs=rollout.log_probs.reshape(-1),  # the behaviour policy's: π_j(a|s)
        means=agent.pi(flat_obs),  # π_i,old, for the KL penalty
        log_std=agent.log_std.copy(),
        values=values.reshape(-1),
        advantages=advantages.reshape(-1),
        returns=returns.reshape(-1),
    )
