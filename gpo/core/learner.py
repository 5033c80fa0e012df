"""What PPO and A2C share: the learner interface and the rollout → training batch step.

A learner turns a ``Rollout`` into parameter updates of an ``ActorCritic``. GPO's mutation
operator (Section 3.1 of the paper) is exactly one of these learners run on each member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gpo.core.gae import gae
from gpo.core.normalization import RewardScaler
from gpo.core.policy import ActorCritic
from gpo.core.rollout import Rollout

Array = np.ndarray


@dataclass
class Batch:
    """A rollout flattened over (T, N) with its advantages and value targets."""

    obs: Array
    actions: Array
    log_probs: Array
    means: Array
    log_std: Array
    values: Array
    advantages: Array
    returns: Array

    def __len__(self) -> int:
        return len(self.advantages)

    @staticmethod
    def concat(batches: Sequence[Batch]) -> Batch:
        """Batches of one policy's update, stacked (``log_std`` is the first batch's)."""
        if len(batches) == 1:
            return batches[0]

        def stack(name):
            return np.concatenate([getattr(b, name) for b in batches])

        return Batch(
            stack("obs"),
            stack("actions"),
            stack("log_probs"),
            stack("means"),
            batches[0].log_std,
            stack("values"),
            stack("advantages"),
            stack("returns"),
        )

    def take(self, idx: Array | slice) -> Batch:
        """The rows ``idx`` picks: copies for an index array, views for a slice."""
        return Batch(
            self.obs[idx],
            self.actions[idx],
            self.log_probs[idx],
            self.means[idx],
            self.log_std,
            self.values[idx],
            self.advantages[idx],
            self.returns[idx],
        )


def make_batch(rollout: Rollout, reward_scaler: RewardScaler | None, gamma: float, lam: float) -> Batch:
    """Scale rewards (if the learner does), run GAE on the (T, N) block, then flatten."""
    rewards = rollout.rewards
    if reward_scaler is not None:
        rewards = reward_scaler(rewards, rollout.terminated | rollout.truncated)
    advantages, returns = gae(
        rewards,
        rollout.values,
        rollout.next_values,
        rollout.terminated,
        rollout.truncated,
        gamma,
        lam,
    )
    T, N = rollout.rewards.shape
    return Batch(
        obs=rollout.obs.reshape(T * N, -1),
        actions=rollout.actions.reshape(T * N, -1),
        log_probs=rollout.log_probs.reshape(-1),
        means=rollout.means.reshape(T * N, -1),
        log_std=rollout.log_std,
        values=rollout.values.reshape(-1),
        advantages=advantages.reshape(-1),
        returns=returns.reshape(-1),
    )


def check_fields(
    config,
    *,
    at_least_one: tuple[str, ...] = (),
    positive: tuple[str, ...] = (),
    unit_interval: tuple[str, ...] = (),
    non_negative: tuple[str, ...] = (),
) -> None:
    """Validate a configuration's fields on construction; ValueError names the field."""
    for name in at_least_one:
        if int(getattr(config, name)) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {getattr(config, name)}")
    for name in positive:
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(config, name)}")
    for name in unit_interval:
        if not 0.0 <= getattr(config, name) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {getattr(config, name)}")
    for name in non_negative:
        if getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")


class ActorCriticLearner:
    """What PPO and A2C hold alike: their config, optimizer and reward scaler, and their state."""

    def __init__(self, config, optimizer) -> None:
        self.config = config
        self.n_envs, self.n_steps = config.n_envs, config.n_steps
        self.optimizer = optimizer
        self.reward_scaler = RewardScaler(config.n_envs, config.gamma) if config.reward_scaling else None

    def make_batch(self, rollout: Rollout, extra: Sequence[Batch]) -> Batch:
        own = make_batch(rollout, self.reward_scaler, self.config.gamma, self.config.gae_lambda)
        return Batch.concat([own, *extra])

    def state_dict(self) -> dict:
        scaler = None if self.reward_scaler is None else self.reward_scaler.state_dict()
        return {"optimizer": self.optimizer.state_dict(), "reward_scaler": scaler}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.reward_scaler is not None:
            self.reward_scaler.load_state_dict(state["reward_scaler"])


class Learner(Protocol):
    """A policy-gradient learner: how much to sample per iteration, and how to update."""

    n_envs: int
    n_steps: int  # steps per environment per iteration

    def update(
        self, agent: ActorCritic, rollout: Rollout, rng: np.random.Generator, extra: Sequence[Batch] = ()
    ) -> dict:
        """Improve ``agent`` from ``rollout`` and any ``extra`` batches (GPO's shared samples);
        return scalar statistics for the learning curve."""
        ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...
