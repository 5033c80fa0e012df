"""Several members' policies as one batch: stacked weights, one matmul per layer over the member axis.

A worker that holds k members steps their environments in lockstep (``gpo.core.rollout.collect_together``,
``gpo.core.evaluation.evaluate_together``); at every step the k μ-networks and the k observation
normalisers are computed here in one call each, instead of k small calls whose cost is Python and
NumPy dispatch rather than arithmetic (one step of one 2 × 64 MLP is ~10 µs of overhead for
~6k multiply-adds).

Bit for bit, member by member: a member's numbers never depend on which others share its batch,
so a run gives the same numbers for any number of worker processes. NumPy's stacked matmul runs
each member's slice through the same kernel as a single 2-D matmul of that shape, and the rest is
elementwise; ``tests/test_rollout.py`` checks that k members computed together equal each
computed alone, exactly.

The stacks are copies made when a rollout or an evaluation starts (parameters do not change
during either); the normaliser's statistics, which do change at every step, are written back to
the members' own ``RunningMeanStd`` with :meth:`StackedNormalizer.write_back`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gpo.core.nn import MLP
from gpo.core.normalization import ObservationNormalizer, normalise
from gpo.core.policy import ActorCritic

Array = np.ndarray


class StackedNormalizer:
    """k observation normalisers: mean/var (k, O), count (k, 1); SB3 VecNormalize's rule each.

    ``update`` is ``RunningMeanStd.update`` for every member at once, written with the same
    operations in the same order, so each member's statistics are exactly its own.
    """

    def __init__(self, normalizers: Sequence[ObservationNormalizer]):
        self.enabled = normalizers[0].enabled
        self.clip = normalizers[0].clip
        self.mean = np.stack([n.rms.mean for n in normalizers])
        self.var = np.stack([n.rms.var for n in normalizers])
        self.count = np.array([[n.rms.count] for n in normalizers])
        self.std = np.sqrt(self.var + 1e-8)
        # The statistics are updated in place (same operations, same bits), so these (k, 1, O)
        # views for normalising (k, N, O) observations stay valid: two fewer NumPy calls a step.
        self._mean_rows, self._std_rows = self.mean[:, None], self.std[:, None]

    def update(self, obs: Array) -> None:
        """Fold in one step's observations, ``obs`` of shape (k, N, O)."""
        if not self.enabled:
            return
        mean, var = self.mean, self.var
        if obs.shape[1] == 1:  # Welford's single-point update, as RunningMeanStd does it
            x = obs[:, 0]
            total = self.count + 1.0
            delta = x - mean
            mean += delta / total
            spread = x - mean
            spread *= delta
            var *= self.count
            var += spread
            var /= total  # (var · n + δ (x − mean')) / (n + 1)
            self.count = total
        else:  # Chan et al.'s merge of the batch's statistics
            batch_mean, batch_var, count = obs.mean(axis=1), obs.var(axis=1), float(obs.shape[1])
            total = self.count + count
            delta = batch_mean - mean
            m2 = var * self.count + batch_var * count + delta**2 * self.count * count / total
            mean += delta * count / total
            np.divide(m2, total, out=var)
            self.count = total
        np.add(var, 1e-8, out=self.std)
        np.sqrt(self.std, out=self.std)

    def __call__(self, obs: Array) -> Array:
        """Normalise (k, N, O) observations, member j with its own statistics."""
        if not self.enabled:
            return np.asarray(obs, dtype=np.float64)
        return normalise(obs, self._mean_rows, self._std_rows, self.clip)

    def one(self, j: int, obs: Array) -> Array:
        """Normalise observations of member ``j`` alone (an episode's final state)."""
        if not self.enabled:
            return np.asarray(obs, dtype=np.float64)
        return normalise(obs, self.mean[j], self.std[j], self.clip)

    def write_back(self, normalizers: Sequence[ObservationNormalizer]) -> None:
        if not self.enabled:
            return
        for j, normalizer in enumerate(normalizers):
            normalizer.rms.load_state_dict(
                {"mean": self.mean[j], "var": self.var[j], "count": float(self.count[j, 0])}
            )


class StackedPolicies:
    """The μ-networks and normalisers of k members of one shape, for batched inference.

    ``nets`` and ``normalizers`` stack other networks of one shape instead (DAgger's selectors
    π_S, which read their child's normaliser); ``agents`` then may be empty.
    """

    def __init__(
        self,
        agents: Sequence[ActorCritic],
        nets: Sequence[MLP] | None = None,
        normalizers: Sequence[ObservationNormalizer] | None = None,
    ):
        self.agents = list(agents)
        nets = [agent.pi for agent in agents] if nets is None else nets
        normalizers = [agent.obs_normalizer for agent in agents] if normalizers is None else normalizers
        self.layers = [
            (
                np.stack([net.layers[k][0] for net in nets]),  # (k, in, out)
                np.stack([net.layers[k][1] for net in nets])[:, None, :],  # (k, 1, out)
            )
            for k in range(len(nets[0].layers))
        ]
        self.normalizer = StackedNormalizer(normalizers)

    def mean(self, norm_obs: Array) -> Array:
        """μ_θ(ŝ) of every member: (k, N, O) normalised observations → (k, N, A)."""
        x = norm_obs
        *hidden, (W_out, b_out) = self.layers
        for W, b in hidden:
            x = np.tanh(x @ W + b)
        return x @ W_out + b_out

    def mean_action(self, raw_obs: Array) -> Array:
        """Deterministic actions for raw (k, N, O) observations (evaluation; no statistics update)."""
        return self.mean(self.normalizer(raw_obs))

    def write_back(self) -> None:
        """Hand the normalisers' statistics back to the members."""
        self.normalizer.write_back([agent.obs_normalizer for agent in self.agents])
