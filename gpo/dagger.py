"""Imitation of the hybrid policy by DAgger (Ross et al. 2011), the second half of state-space
crossover (Section 3.2).

The hybrid π_H(a|s) = π_S(x|s) π_x(a|s) + π_S(y|s) π_y(a|s) acts with frozen parents. The child
π_c learns it: the dataset starts with states from rollouts of π_H; then, ``iterations`` times,
π_c is fitted by minimising E_s[KL(π_c(·|s) ‖ π_H(·|s))] with Adam and, except after the last
fit, π_c is rolled out and its states are added (labelled by π_H: the parents and π_S are frozen,
so a state's label is a function of the state). Every step of π_H and of π_c counts.

π_H is a mixture, so KL(π_c ‖ π_H) has no closed form. ``kl_estimator`` chooses:
- ``"picked_parent"`` (default): the closed-form KL to the Gaussian of the parent π_S picks,
  argmax_h π_S(h|s). Its gradient has no sampling noise, and where π_S is confident (everywhere
  but near the boundary between the parents' regions) the mixture is that Gaussian up to a
  weight ≈ 1, so this is the quantity the paper's objective reduces to.
- ``"monte_carlo"``: the unbiased estimate E_{a~π_c}[log π_c(a|s) − log π_H(a|s)] with one
  reparameterised sample a = μ_c + σ_c ε per state, differentiated through a.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import gymnasium as gym
import numpy as np

from gpo.core.batched import StackedPolicies
from gpo.core.distributions import kl, log_prob_value
from gpo.core.nn import MLP, TrainingPasses
from gpo.core.optim import Adam, stacked_minibatches
from gpo.core.policy import ActorCritic
from gpo.core.vector_env import writing_step
from gpo.selector import Selector

Array = np.ndarray
ESTIMATORS = ("picked_parent", "monte_carlo")


@dataclass(frozen=True)
class DAggerConfig:
    """DAgger's budget: 2,048 π_H steps and 3 × 1,024 child steps = 5,120 env steps per child,
    17% of a `lite` member's budget (5 crossovers of 150k) and 5.6% at the paper's (11 of 1M).

    Measured on the same parents (results/fidelity/README.md): 2,048 steps per child (1024/512/3)
    raised the median imitation KL from 0.016 to 0.024 (Hopper) and 0.045 to 0.053 (Walker2d),
    14,336 steps (4096/2048/6) lowered it to 0.013 and 0.036, 30 epochs to 0.012 and 0.035; the
    child's return relative to x stayed 0.97-0.99 throughout. On whole `lite` runs the small
    budget moved the final return by −592 ± 650 (Hopper) and +178 ± 659 (Walker2d): within noise.
    Nothing supports moving the default either way.
    """

    iterations: int = 4  # fits of the child; iterations − 1 child rollouts between them
    hybrid_steps: int = 2048  # π_H steps that start the dataset
    child_steps: int = 1024  # π_c steps per rollout
    n_envs: int = 1
    epochs: int = 10  # passes over the dataset per fit
    minibatch: int = 64
    learning_rate: float = 1e-3
    kl_estimator: Literal["picked_parent", "monte_carlo"] = "picked_parent"

    def __post_init__(self) -> None:
        for name in ("iterations", "hybrid_steps", "n_envs", "epochs", "minibatch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.child_steps < 0:
            raise ValueError(f"child_steps must be >= 0, got {self.child_steps}")
        if self.hybrid_steps % self.n_envs or self.child_steps % self.n_envs:
            raise ValueError("hybrid_steps and child_steps must be multiples of n_envs")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if self.kl_estimator not in ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {ESTIMATORS}, got {self.kl_estimator!r}")

    @property
    def env_steps(self) -> int:
        """Environment steps one child costs."""
        return self.hybrid_steps + (self.iterations - 1) * self.child_steps


class HybridTargets(NamedTuple):
    """π_H's parts on a batch of states: π_S(x|s) and both parents' Gaussians."""

    prob_x: Array  # (B,)
    mean_x: Array  # (B, A)
    log_std_x: Array  # (A,)
    mean_y: Array
    log_std_y: Array

    @staticmethod
    def concat(parts: list[HybridTargets]) -> HybridTargets:
        """Targets of several batches of states, stacked (the parents' log σ are shared)."""
        first = parts[0]
        return HybridTargets(
            np.concatenate([p.prob_x for p in parts]),
            np.concatenate([p.mean_x for p in parts]),
            first.log_std_x,
            np.concatenate([p.mean_y for p in parts]),
            first.log_std_y,
        )

    def take(self, idx: Array) -> HybridTargets:
        return HybridTargets(
            self.prob_x[idx], self.mean_x[idx], self.log_std_x, self.mean_y[idx], self.log_std_y
        )

    def picked(self) -> tuple[Array, Array]:
        """μ and log σ, per state, of the parent π_S picks (argmax_h π_S(h|s)): (B, A) each."""
        pick_x = (self.prob_x >= 0.5)[:, None]
        return (
            np.where(pick_x, self.mean_x, self.mean_y),
            np.where(pick_x, self.log_std_x, self.log_std_y),
        )


class Hybrid:
    """π_H(a|s) = π_S(x|s) π_x(a|s) + π_S(y|s) π_y(a|s) with frozen parents x and y."""

    def __init__(self, x: ActorCritic, y: ActorCritic, selector: Selector):
        self.x, self.y, self.selector = x, y, selector

    def targets(self, raw_obs: Array) -> HybridTargets:
        return HybridTargets(
            self.selector.prob_x(raw_obs),
            self.x.mean_action(raw_obs),
            self.x.log_std.copy(),
            self.y.mean_action(raw_obs),
            self.y.log_std.copy(),
        )


class Hybrids:
    """k hybrids' sampling, h ~ π_S(·|s) then a ~ π_h(·|s), for stepping in lockstep: their
    selectors and their 2k parents each computed as one batch (``gpo.core.batched``); hybrid j draws
    from its own generator, so its samples do not depend on the others (k = 1: one hybrid)."""

    def __init__(self, hybrids: Sequence[Hybrid]):
        self.k = len(hybrids)
        self.parents = StackedPolicies([h.x for h in hybrids] + [h.y for h in hybrids])
        selectors = [h.selector for h in hybrids]
        self.selectors = StackedPolicies([], [s.net for s in selectors], [s.normalizer for s in selectors])
        self.std_x = np.stack([np.exp(h.x.log_std) for h in hybrids])[:, None, :]  # (k, 1, A)
        self.std_y = np.stack([np.exp(h.y.log_std) for h in hybrids])[:, None, :]

    def _parts(self, raw_obs: Array) -> tuple[Array, Array]:
        """π_S(x|s) (k, N) and both parents' means (2k, N, A), x's first, for raw states (k, N, O)."""
        logits = self.selectors.mean_action(raw_obs)
        prob_x = 1.0 / (1.0 + np.exp(logits[..., 1] - logits[..., 0]))  # as Selector.prob_x
        return prob_x, self.parents.mean_action(np.concatenate([raw_obs, raw_obs]))

    def mean_action(self, raw_obs: Array) -> Array:
        """π_H acting deterministically: in each state the mean action of the parent π_S favours
        (argmax_h π_S(h|s), ``HybridTargets.picked``'s rule), (k, N, A) for raw states (k, N, O).
        What GPO's crossovers table reports as the hybrid's return (``gpo.crossover``)."""
        prob_x, means = self._parts(raw_obs)
        return np.where((prob_x >= 0.5)[..., None], means[: self.k], means[self.k :])

    def sample(self, raw_obs: Array, rngs: Sequence[np.random.Generator]) -> Array:
        """Actions (k, N, A) for raw states (k, N, O)."""
        return self.sample_with_choice(raw_obs, rngs)[0]

    def sample_with_choice(self, raw_obs: Array, rngs: Sequence[np.random.Generator]) -> tuple[Array, Array]:
        """Actions (k, N, A) and the choices h (0 = parent x, 1 = parent y) that produced them."""
        prob_x, means = self._parts(raw_obs)
        pick_x = np.stack([rng.random(raw_obs.shape[1]) for rng in rngs]) < prob_x
        mean = np.where(pick_x[..., None], means[: self.k], means[self.k :])
        std = np.where(pick_x[..., None], self.std_x, self.std_y)
        noise = np.stack([rng.standard_normal(m.shape) for rng, m in zip(rngs, mean)])
        return mean + std * noise, (~pick_x).astype(np.int64)


class ImitationLoss(NamedTuple):
    value: float | Array  # one per child when k children are computed at once
    d_mean: Array
    d_log_std: Array


def imitation_loss(
    mean: Array, log_std: Array, targets: HybridTargets, estimator: str, rng: np.random.Generator
) -> ImitationLoss:
    """E_s[KL(π_c(·|s) ‖ π_H(·|s))] and its gradient w.r.t. the child's μ and log σ."""
    B = len(mean)
    if estimator == "picked_parent":
        loss = picked_parent_loss(mean, log_std, *targets.picked())
        return loss._replace(value=float(loss.value))

    # Monte Carlo, one sample per state: a = μ_c + σ_c ε, L = log π_c(a) − log π_H(a).
    std = np.exp(log_std)
    eps = rng.standard_normal(mean.shape)
    actions = mean + std * eps
    log_pc = log_prob_value(actions, mean, log_std)
    w_x = np.clip(targets.prob_x, 1e-8, 1.0 - 1e-8)
    log_px = np.log(w_x) + log_prob_value(actions, targets.mean_x, targets.log_std_x)
    log_py = np.log1p(-w_x) + log_prob_value(actions, targets.mean_y, targets.log_std_y)
    log_ph = np.logaddexp(log_px, log_py)
    r_x = np.exp(log_px - log_ph)[:, None]  # posterior weight of parent x given a
    # ∂ log π_H(a)/∂a = Σ_h r_h (μ_h − a)/σ_h²; log π_c(a) = −½|ε|² − Σ log σ_c − const.
    grad_a = r_x * (targets.mean_x - actions) * np.exp(-2 * targets.log_std_x) + (1 - r_x) * (
        targets.mean_y - actions
    ) * np.exp(-2 * targets.log_std_y)
    d_mean = -grad_a / B
    d_log_std = np.sum(-1.0 - grad_a * std * eps, axis=0) / B
    return ImitationLoss(float(np.mean(log_pc - log_ph)), d_mean, d_log_std)


def picked_parent_loss(
    mean: Array, log_std: Array, target_mean: Array, target_log_std: Array
) -> ImitationLoss:
    """E_s[KL(π_c(·|s) ‖ N(μ_h, σ_h))] to the picked parent h, and its gradient.

    Shapes (B, A) with ``log_std`` (A,); or, for k children at once, (k, B, A) with ``log_std``
    (k, 1, A), giving one value and one gradient per child (each exactly what it gets alone).
    """
    B = mean.shape[-2]
    div = kl(mean, log_std, target_mean, target_log_std)
    return ImitationLoss(np.mean(div.value, axis=-1), div.d_mean_p / B, div.d_log_std_p.sum(axis=-2) / B)


class Trajectory(NamedTuple):
    states: Array  # (T, N, O)
    rewards: Array  # (T, N)
    dones: Array  # (T, N)
    last_obs: Array


def collect_states_together(envs: Sequence[gym.vector.VectorEnv], obs: Array, act, n_steps: int) -> Array:
    """Step k ``envs`` in lockstep ``n_steps`` times with ``act(raw_obs (k, N, O)) -> actions``
    (``obs`` (k, N, O) is updated in place); the raw states visited, (k, T·N, O)."""
    low, high = envs[0].single_action_space.low, envs[0].single_action_space.high
    states = np.empty((len(envs), n_steps, *obs.shape[1:]))
    steppers = [writing_step(env) for env in envs]
    rewards = np.empty(obs.shape[1])  # not kept: imitation needs only the states
    for t in range(n_steps):
        states[:, t] = obs
        actions = np.minimum(np.maximum(act(obs), low), high)  # np.clip's arithmetic
        for j, step_into in enumerate(steppers):
            step_into(actions[j], obs[j], rewards)
    return states.reshape(len(envs), -1, obs.shape[-1])


def collect_trajectory(envs: gym.vector.VectorEnv, obs: Array, act, n_steps: int) -> Trajectory:
    """Step ``envs`` ``n_steps`` times with ``act(raw_obs) -> actions``."""
    low, high = envs.single_action_space.low, envs.single_action_space.high
    states = np.empty((n_steps, *obs.shape))
    rewards, dones = np.empty((n_steps, len(obs))), np.empty((n_steps, len(obs)), dtype=bool)
    for t in range(n_steps):
        states[t] = obs
        obs, reward, terminated, truncated, _ = envs.step(np.clip(act(obs), low, high))
        rewards[t], dones[t] = reward, terminated | truncated
    return Trajectory(states, rewards, dones, obs)


class DAggerResult(NamedTuple):
    env_steps: int
    final_kl: float  # imitation loss on the whole dataset after the last fit
    recent_states: Array  # raw states of the latest rollout (the child's own, if it had one)


def dagger(
    child: ActorCritic,
    hybrid: Hybrid,
    envs: gym.vector.VectorEnv,
    seed: int,
    config: DAggerConfig,
    rng: np.random.Generator,
) -> DAggerResult:
    """Train ``child``'s policy (μ and log σ; the critic is left alone) to imitate ``hybrid``."""
    return dagger_together([child], [hybrid], [envs], [seed], config, [rng])[0]


def dagger_together(
    children: Sequence[ActorCritic],
    hybrids: Sequence[Hybrid],
    envs: Sequence[gym.vector.VectorEnv],
    seeds: Sequence[int],
    config: DAggerConfig,
    rngs: Sequence[np.random.Generator],
) -> list[DAggerResult]:
    """:func:`dagger` for k children (a worker's share of a round's crossovers), child j imitating
    ``hybrids[j]`` on ``envs[j]`` with its own generator ``rngs[j]``.

    The k children's rollouts step in lockstep with their policies (and π_H's selectors and
    parents) computed as one batch, and their fits run as one batch over the member axis (the k
    policy networks stacked, one Adam over all k), since a fit is thousands of 64-state Adam
    steps whose cost is mostly dispatch. Every child draws from its own generator
    in the same order as alone, and its arithmetic is its own (``gpo.core.nn.MLP``), so each child is
    exactly what ``dagger`` makes of it alone.
    """
    k = len(children)
    n_envs = envs[0].num_envs
    obs = np.stack([env.reset(seed=seed)[0] for env, seed in zip(envs, seeds)])  # (k, N, O)
    dataset_obs: list[list[Array]] = [[] for _ in range(k)]
    dataset_targets: list[list[HybridTargets]] = [[] for _ in range(k)]
    env_steps = [0] * k

    def add(act, n_steps: int) -> None:
        """Roll out all k in lockstep and label the states with π_H."""
        for j, states in enumerate(collect_states_together(envs, obs, act, n_steps // n_envs)):
            env_steps[j] += len(states)
            dataset_obs[j].append(states)
            dataset_targets[j].append(hybrids[j].targets(states))

    in_lockstep = Hybrids(hybrids)
    add(lambda raw: in_lockstep.sample(raw, rngs), config.hybrid_steps)

    # The k children's μ-networks and log σ as rows of one array, trained together.
    n_pi = children[0].pi.params.size
    params = np.stack([child.policy_params for child in children])
    grads = np.zeros_like(params)
    net = MLP(children[0].pi.sizes, params[:, :n_pi], grads[:, :n_pi])
    passes = TrainingPasses(net, children[0].config.training_dtype)  # the children's precision
    optimizer = Adam(params, grads, config.learning_rate)

    for iteration in range(config.iterations):
        inputs = [child.obs_normalizer(np.concatenate(d)) for child, d in zip(children, dataset_obs)]
        targets = [HybridTargets.concat(t) for t in dataset_targets]
        _fit(passes, params[:, n_pi:], grads[:, n_pi:], optimizer, inputs, targets, config, rngs)
        for child, row in zip(children, params):
            child.policy_params[...] = row
        if iteration == config.iterations - 1 or config.child_steps == 0:
            break
        policies = StackedPolicies(children)
        std = np.exp(params[:, None, n_pi:])  # (k, 1, A)

        def stochastic_children(raw: Array, policies=policies, std=std) -> Array:
            mean = policies.mean_action(raw)
            return mean + std * np.stack([rng.standard_normal(m.shape) for rng, m in zip(rngs, mean)])

        add(stochastic_children, config.child_steps)

    results = []
    for child, x, t, d, steps, rng in zip(children, inputs, targets, dataset_obs, env_steps, rngs):
        final = imitation_loss(child.pi(x), child.log_std, t, "picked_parent", rng).value
        results.append(DAggerResult(steps, final, d[-1]))
    return results


def _fit(
    net: TrainingPasses,
    log_std: Array,
    grad_log_std: Array,
    optimizer: Adam,
    inputs: list[Array],
    targets: list[HybridTargets],
    config: DAggerConfig,
    rngs: Sequence[np.random.Generator],
) -> None:
    """``config.epochs`` passes of minibatch Adam on the imitation loss, k children at once:
    ``net`` runs their stacked μ-networks' passes, ``log_std`` (k, A) is their log σ; child j's minibatches
    come from its own permutation of its own dataset (all datasets have the same size)."""
    data = [np.stack(inputs)]  # (k, n, O)
    n = data[0].shape[1]
    n_minibatches = max(1, n // config.minibatch)
    if config.kl_estimator == "picked_parent":
        picked = [t.picked() for t in targets]
        data.append(np.stack([m for m, _ in picked]))  # the picked parent's μ, (k, n, A)
        data.append(np.stack([s for _, s in picked]))  # and its log σ
    for _ in range(config.epochs):
        for idx, batch in stacked_minibatches(rngs, data, n_minibatches):
            mean, cache = net.forward(batch[0])
            if config.kl_estimator == "picked_parent":
                loss = picked_parent_loss(mean, log_std[:, None, :], batch[1], batch[2])
                d_mean, d_log_std = loss.d_mean, loss.d_log_std
            else:  # one Monte Carlo sample per state, from each child's own generator
                losses = [
                    imitation_loss(mean[j], log_std[j], t.take(idx[j]), config.kl_estimator, rng)
                    for j, (t, rng) in enumerate(zip(targets, rngs))
                ]
                d_mean = np.stack([loss.d_mean for loss in losses])
                d_log_std = np.stack([loss.d_log_std for loss in losses])
            net.backward(cache, d_mean)
            grad_log_std[...] = d_log_std
            optimizer.step()
