"""Running statistics for observation normalisation and reward scaling.

Observation statistics belong to the policy (see ``gpo.core.policy``) because GPO's crossover carries a
policy, normaliser included, from parents to child; reward scaling belongs to the learner.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def welford(mean, var, count: float, x):
    """Welford's single-point update of (mean, var, count) by x: arrays or plain floats alike (the
    same IEEE operations in the same order, so the same bits either way)."""
    total = count + 1.0
    delta = x - mean
    mean = mean + delta / total
    var = (var * count + delta * (x - mean)) / total
    return mean, var, total


def standardize(x: Array) -> Array:
    """(x − mean)/(std + 1e-8) over all of ``x`` (advantages, the selector's returns-to-go).

    Written as NumPy's ``mean`` and ``std`` compute them (the same pairwise sums and divisions, so
    the same bits) without their Python wrappers, which on a PPO minibatch of 64 cost more than the
    arithmetic.
    """
    centred = x - x.sum() / x.size
    return centred / (math.sqrt((centred * centred).sum() / x.size) + 1e-8)


class RunningMeanStd:
    """Mean and variance of a stream, merged batch by batch (Chan et al.'s parallel algorithm)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        self.mean = np.zeros(shape)
        self.var = np.ones(shape)
        # A tiny prior count (as in SB3's VecNormalize) keeps the first division well defined.
        self.count = float(epsilon)
        self._refresh()

    def _refresh(self) -> None:
        """Recompute what normalisation divides by; every change of the statistics calls it."""
        self.std = np.sqrt(self.var + 1e-8)

    def update(self, batch: Array) -> None:
        batch = np.asarray(batch, dtype=np.float64).reshape(-1, *self.mean.shape)
        if batch.shape[0] == 1:
            # Welford's single-point update (the same statistics as merge(x, 0, 1), cheaper: the
            # rollout collector calls this once per environment step).
            self.mean, self.var, self.count = welford(self.mean, self.var, self.count, batch[0])
            self._refresh()
            return
        self.merge(batch.mean(axis=0), batch.var(axis=0), float(batch.shape[0]))

    def merge(self, mean: Array, var: Array, count: float) -> None:
        """Fold in the statistics of another sample (``count`` points with ``mean``, ``var``)."""
        total = self.count + count
        delta = mean - self.mean
        new_mean = self.mean + delta * count / total
        m2 = self.var * self.count + var * count + delta**2 * self.count * count / total
        self.mean, self.var, self.count = new_mean, m2 / total, total
        self._refresh()

    def copy(self) -> RunningMeanStd:
        other = RunningMeanStd(self.mean.shape)
        other.load_state_dict(self.state_dict())
        return other

    def state_dict(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        # In this object's own shape: a 0-d array comes back from a torch checkpoint as shape (1,).
        shape = np.shape(self.mean)
        self.mean = np.array(state["mean"], dtype=np.float64).reshape(shape)
        self.var = np.array(state["var"], dtype=np.float64).reshape(shape)
        self.count = float(state["count"])
        self._refresh()


def normalise(obs: Array, mean: Array, std: Array, clip: float) -> Array:
    """(s − mean) / std clipped to ±``clip``; ``std`` is √(var + 1e-8) (``RunningMeanStd.std``)."""
    z = (obs - mean) / std
    return np.minimum(np.maximum(z, -clip), clip)


class ObservationNormalizer:
    """(s − mean) / √(var + 1e-8), clipped to ±``clip``: SB3 VecNormalize's rule."""

    def __init__(self, obs_dim: int, clip: float = 10.0, enabled: bool = True):
        self.rms = RunningMeanStd((obs_dim,))
        self.clip, self.enabled = clip, enabled

    def __call__(self, obs: Array) -> Array:
        if not self.enabled:
            return np.asarray(obs, dtype=np.float64)
        return normalise(obs, self.rms.mean, self.rms.std, self.clip)

    def update(self, raw_obs: Array) -> None:
        if self.enabled:
            self.rms.update(raw_obs)


class RewardScaler:
    """Divide rewards by the running std of the discounted return (Engstrom et al. 2020).

    Per environment, R_t = γ R_{t−1} (1 − done_{t−1}) + r_t; the std is over all R_t seen.
    Rewards are scaled, never shifted, so the sign of every reward is kept.
    """

    def __init__(self, n_envs: int, gamma: float, clip: float = 10.0):
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(n_envs)
        self.gamma, self.clip = gamma, clip

    def __call__(self, rewards: Array, dones: Array) -> Array:
        """Scale a (T, N) block of rewards collected in time order; ``dones`` ends episodes.

        Step by step, as SB3's VecNormalize does: the running return joins the statistics, then
        the step's reward is divided by their current std.
        """
        if rewards.shape[1] == 1:
            return self._scale_one_env(rewards, dones)
        scaled = np.empty_like(rewards)
        running = self.returns
        for t in range(rewards.shape[0]):
            running = self.gamma * running + rewards[t]
            self.rms.update(running)
            scaled[t] = rewards[t] / self.rms.std
            running = np.where(dones[t], 0.0, running)
        self.returns = running
        return np.minimum(np.maximum(scaled, -self.clip), self.clip)

    def _scale_one_env(self, rewards: Array, dones: Array) -> Array:
        """``__call__`` for one environment with Python floats: NumPy's per-call cost on 0-d
        arrays was ~10% of a PPO update; IEEE float arithmetic and a correctly rounded sqrt give
        the same bits (tests/test_optim_and_normalization.py)."""
        mean, var, count = float(self.rms.mean), float(self.rms.var), self.rms.count
        running = float(self.returns[0])
        scaled = []
        for reward, done in zip(rewards[:, 0].tolist(), dones[:, 0].tolist()):
            running = self.gamma * running + reward
            mean, var, count = welford(mean, var, count, running)
            scaled.append(reward / math.sqrt(var + 1e-8))
            running = 0.0 if done else running
        self.rms.load_state_dict({"mean": mean, "var": var, "count": count})
        self.returns = np.array([running])
        return np.minimum(np.maximum(np.array(scaled)[:, None], -self.clip), self.clip)

    def scale(self, rewards: Array) -> Array:
        """Scale rewards with the current statistics, leaving them unchanged (for samples that
        are not this learner's own, such as GPO's shared data)."""
        return np.clip(rewards / self.rms.std, -self.clip, self.clip)

    def state_dict(self) -> dict:
        return {"rms": self.rms.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.rms.load_state_dict(state["rms"])
        self.returns = np.array(state["returns"], dtype=np.float64)
