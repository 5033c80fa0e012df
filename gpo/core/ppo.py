"""Proximal policy optimisation (Schulman et al. 2017) with both of its objectives.

- ``objective="clip"`` (default): the clipped surrogate with the modern MuJoCo settings
  (2048 steps per iteration, 10 epochs of 32 minibatches, Adam 3e-4, γ 0.99, λ 0.95, ε 0.2).
- ``objective="kl_penalty"``: the adaptive KL-penalty surrogate that the GPO paper used for its
  PPO learner (Section 4): 10 full-batch Adam steps per batch, then the penalty coefficient β is
  halved if the measured KL was below target/1.5 and doubled if above target·1.5
  (Schulman et al. 2017, Section 4). ``PPOConfig.kl_penalty()`` builds that configuration.

The loss and its gradient are written side by side in :func:`ppo_loss`; the value loss is
SB3's mean squared error (no ½), so ``vf_coef`` means the same as in SB3.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np

from gpo.core import distributions
from gpo.core.learner import ActorCriticLearner, Batch, check_fields
from gpo.core.normalization import standardize
from gpo.core.optim import Adam, clip_grad_norm, minibatch_bounds
from gpo.core.policy import ActorCritic
from gpo.core.rollout import Rollout

Array = np.ndarray
OBJECTIVES = ("clip", "kl_penalty")


@dataclass(frozen=True)
class PPOConfig:
    """Every PPO setting; defaults are the modern clipped-PPO MuJoCo settings."""

    objective: Literal["clip", "kl_penalty"] = "clip"
    n_envs: int = 1
    n_steps: int = 2048  # per environment per iteration
    n_epochs: int = 10
    n_minibatches: int = 32
    learning_rate: float = 3e-4
    adam_eps: float = 1e-5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    kl_target: float = 0.01
    kl_coef_init: float = 1.0
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    normalize_advantage: bool = True
    reward_scaling: bool = True

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        check_fields(
            self,
            at_least_one=("n_envs", "n_steps", "n_epochs", "n_minibatches"),
            positive=("learning_rate", "adam_eps", "clip_coef", "kl_target", "max_grad_norm"),
            unit_interval=("gamma", "gae_lambda"),
            non_negative=("kl_coef_init", "vf_coef", "ent_coef"),
        )
        if self.n_minibatches > self.n_envs * self.n_steps:
            raise ValueError(
                f"n_minibatches ({self.n_minibatches}) exceeds the batch ({self.n_envs * self.n_steps} steps)"
            )

    @classmethod
    def kl_penalty(cls, **overrides) -> PPOConfig:
        """The GPO paper's learner: adaptive KL penalty, 10 full-batch Adam steps per batch.

        The paper gives no learning rate for it. We use 1e-3: measured on InvertedPendulum-v5 and
        HalfCheetah-v5, at 3e-4 ten steps never reach the KL target, so β halves every iteration
        (to ~1e-12) and the penalty is inert; at 1e-3 the KL sits at its target and β stays
        between 0.5 and 2, so the adaptive penalty does what it is for.
        """
        defaults = {"objective": "kl_penalty", "n_minibatches": 1, "learning_rate": 1e-3}
        return replace(cls(**defaults), **overrides)


class PPOLoss(NamedTuple):
    total: float
    policy: float
    value: float
    entropy: float
    d_mean: Array  # ∂L/∂μ, (B, A)
    d_log_std: Array  # ∂L/∂log σ, (A,)
    d_value: Array  # ∂L/∂V, (B,)
    approx_kl: float  # E[(r − 1) − log r], an estimate of KL(old ‖ new)
    clip_fraction: float


def ppo_loss(
    batch: Batch,
    mean: Array,
    log_std: Array,
    value: Array,
    config: PPOConfig,
    kl_coef: float,
    stats: bool = True,
) -> PPOLoss:
    """L = L_policy + c_v · E[(V − R)²] − c_e · H[π], and its gradient w.r.t. μ, log σ, V.

    clip:        L_policy = −E[min(r·Â, clip(r, 1−ε, 1+ε)·Â)],  r = π_θ(a|s)/π_old(a|s)
    kl_penalty:  L_policy = −E[r·Â] + β·E[KL(π_old(·|s) ‖ π_θ(·|s))]

    With ``stats=False`` only the gradient is computed and the scalar fields are NaN: the learner
    reports the last epoch's losses only, and on a minibatch of 64 the reductions behind them cost
    about as much as the gradient itself.
    """
    B = len(batch)
    adv = batch.advantages
    if config.normalize_advantage and B > 1:
        adv = standardize(adv)
    logp = distributions.log_prob(batch.actions, mean, log_std)
    log_ratio = logp.value - batch.log_probs
    ratio = np.exp(log_ratio)

    if config.objective == "clip":
        unclipped = ratio * adv
        clipped = np.clip(ratio, 1.0 - config.clip_coef, 1.0 + config.clip_coef) * adv
        # The gradient flows only where the unclipped term is the minimum (inside the trust
        # region, or outside it on the side that makes the objective worse).
        d_logp = np.where(unclipped <= clipped, -adv * ratio / B, 0.0)
        d_mean, d_log_std = d_logp[:, None] * logp.d_mean, d_logp @ logp.d_log_std
        policy_loss = -np.mean(np.minimum(unclipped, clipped)) if stats else math.nan
    else:
        kl = distributions.kl(batch.means, batch.log_std, mean, log_std)
        d_logp = -adv * ratio / B
        d_mean = d_logp[:, None] * logp.d_mean + (kl_coef / B) * kl.d_mean_q
        d_log_std = d_logp @ logp.d_log_std + (kl_coef / B) * kl.d_log_std_q.sum(axis=0)
        policy_loss = -np.mean(ratio * adv) + kl_coef * np.mean(kl.value) if stats else math.nan

    value_error = value - batch.returns
    d_value = config.vf_coef * 2.0 * value_error / B
    d_log_std = d_log_std - config.ent_coef  # ∂H/∂log σ_j = 1
    if not stats:
        nan = math.nan
        return PPOLoss(nan, nan, nan, nan, d_mean, d_log_std, d_value, nan, nan)
    value_loss = np.mean(value_error**2)
    entropy = float(distributions.entropy(log_std))
    total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    return PPOLoss(
        total=float(total),
        policy=float(policy_loss),
        value=float(value_loss),
        entropy=entropy,
        d_mean=d_mean,
        d_log_std=d_log_std,
        d_value=d_value,
        approx_kl=float(np.mean((ratio - 1.0) - log_ratio)),
        clip_fraction=float(np.mean(np.abs(ratio - 1.0) > config.clip_coef)),
    )


class PPO(ActorCriticLearner):
    """The PPO learner: epochs of minibatch Adam steps on ``ppo_loss``."""

    def __init__(self, config: PPOConfig, agent: ActorCritic):
        super().__init__(config, Adam(agent.params, agent.grads, config.learning_rate, eps=config.adam_eps))
        self.kl_coef = config.kl_coef_init

    def update(
        self, agent: ActorCritic, rollout: Rollout, rng: np.random.Generator, extra: Sequence[Batch] = ()
    ) -> dict:
        cfg = self.config
        batch = self.make_batch(rollout, extra)
        B = len(batch)
        n_mb = min(cfg.n_minibatches, B)
        last = []  # the final epoch's losses, which the update reports
        for epoch in range(cfg.n_epochs):
            final = epoch == cfg.n_epochs - 1
            # Shuffled once per epoch; each minibatch is then a slice (views), the same rows in the
            # same order as gathering each part of np.array_split(permutation, n_mb).
            shuffled = batch.take(rng.permutation(B)) if n_mb > 1 else batch
            for start, stop in minibatch_bounds(B, n_mb):
                mb = shuffled.take(slice(start, stop))
                mean, value, cache = agent.forward(mb.obs)
                loss = ppo_loss(mb, mean, agent.log_std, value, cfg, self.kl_coef, stats=final)
                agent.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
                clip_grad_norm(agent.grads, cfg.max_grad_norm)
                self.optimizer.step()
                if final:
                    last.append(loss)

        # KL(old ‖ new) over the whole batch after the update, in closed form.
        new_mean = agent.pi(batch.obs)
        kl = float(np.mean(distributions.kl(batch.means, batch.log_std, new_mean, agent.log_std).value))
        kl_coef_used = self.kl_coef
        if cfg.objective == "kl_penalty":
            if kl < cfg.kl_target / 1.5:
                self.kl_coef /= 2.0
            elif kl > cfg.kl_target * 1.5:
                self.kl_coef *= 2.0
        return {
            "policy_loss": float(np.mean([s.policy for s in last])),
            "value_loss": float(np.mean([s.value for s in last])),
            "approx_kl": float(np.mean([s.approx_kl for s in last])),
            "clip_fraction": float(np.mean([s.clip_fraction for s in last])),
            "kl": kl,
            "kl_coef": kl_coef_used,
        }

    def state_dict(self) -> dict:
        return {**super().state_dict(), "kl_coef": self.kl_coef}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.kl_coef = float(state["kl_coef"])
