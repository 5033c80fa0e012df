"""Synchronous advantage actor-critic, A2C (Mnih et al. 2016; the synchronous form of OpenAI
Baselines), the paper's second learner (Section 4, Table 2).

Every iteration: N environments take n steps each, then ONE gradient step on
L = −E[log π(a|s) Â] + c_v · E[(V − R)²] − c_e · H[π]. With λ = 1, Â is the n-step return minus
V(s) (bootstrapped at the rollout's end and at time limits). Defaults are SB3's A2C defaults
(RMSprop 7e-4, α 0.99, ε 1e-5, n = 5, c_v 0.5, gradient norm 0.5), with 4 synchronous
environments as is usual on MuJoCo, observation normalisation and reward scaling on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gpo.core import distributions
from gpo.core.learner import ActorCriticLearner, Batch, check_fields
from gpo.core.normalization import standardize
from gpo.core.optim import RMSprop, clip_grad_norm
from gpo.core.policy import ActorCritic
from gpo.core.rollout import Rollout

Array = np.ndarray


@dataclass(frozen=True)
class A2CConfig:
    n_envs: int = 4
    n_steps: int = 5  # per environment per iteration
    learning_rate: float = 7e-4
    rms_alpha: float = 0.99
    rms_eps: float = 1e-5
    gamma: float = 0.99
    gae_lambda: float = 1.0
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    normalize_advantage: bool = False
    reward_scaling: bool = True

    def __post_init__(self) -> None:
        check_fields(
            self,
            at_least_one=("n_envs", "n_steps"),
            positive=("learning_rate", "rms_eps", "max_grad_norm"),
            unit_interval=("gamma", "gae_lambda", "rms_alpha"),
            non_negative=("vf_coef", "ent_coef"),
        )


class A2CLoss(NamedTuple):
    total: float
    policy: float
    value: float
    entropy: float
    d_mean: Array
    d_log_std: Array
    d_value: Array


def a2c_loss(batch: Batch, mean: Array, log_std: Array, value: Array, config: A2CConfig) -> A2CLoss:
    """L = −E[log π(a|s)·Â] + c_v·E[(V − R)²] − c_e·H, and its gradient w.r.t. μ, log σ, V."""
    B = len(batch)
    adv = batch.advantages
    if config.normalize_advantage and B > 1:
        adv = standardize(adv)
    logp = distributions.log_prob(batch.actions, mean, log_std)
    policy_loss = -np.mean(logp.value * adv)
    d_logp = -adv / B
    value_error = value - batch.returns
    value_loss = np.mean(value_error**2)
    entropy = float(distributions.entropy(log_std))
    return A2CLoss(
        total=float(policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy),
        policy=float(policy_loss),
        value=float(value_loss),
        entropy=entropy,
        d_mean=d_logp[:, None] * logp.d_mean,
        d_log_std=d_logp @ logp.d_log_std - config.ent_coef,
        d_value=config.vf_coef * 2.0 * value_error / B,
    )


class A2C(ActorCriticLearner):
    """The A2C learner: one RMSprop step per rollout."""

    def __init__(self, config: A2CConfig, agent: ActorCritic):
        optimizer = RMSprop(agent.params, agent.grads, config.learning_rate, config.rms_alpha, config.rms_eps)
        super().__init__(config, optimizer)

    def update(
        self, agent: ActorCritic, rollout: Rollout, rng: np.random.Generator, extra: Sequence[Batch] = ()
    ) -> dict:
        cfg = self.config
        batch = self.make_batch(rollout, extra)
        mean, value, cache = agent.forward(batch.obs)
        loss = a2c_loss(batch, mean, agent.log_std, value, cfg)
        agent.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
        clip_grad_norm(agent.grads, cfg.max_grad_norm)
        self.optimizer.step()
        return {"policy_loss": loss.policy, "value_loss": loss.value}
