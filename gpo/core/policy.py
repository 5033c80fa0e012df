"""The paper's policy (Section 4): a Gaussian MLP with a state-independent log-std, and a critic.

π_θ(a|s) = N(μ_θ(ŝ), diag exp(2 log σ)), V_φ(ŝ), with ŝ the normalised observation. Both networks
and log σ live in one flat parameter vector, laid out [μ-MLP | log σ | V-MLP], so one optimizer
updates them together and ``policy_params`` (the first two blocks) is a contiguous view that
GPO's crossover can copy from parent to child.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gpo.core.nn import MLP, TrainingPasses, mlp_size
from gpo.core.normalization import ObservationNormalizer, RunningMeanStd

Array = np.ndarray
TRAINING_DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class PolicyConfig:
    """Network shapes, initialisation and the precision of training. Defaults: the paper's 2 × 64
    tanh policy; a 2 × 64 critic (the paper's own critic was 2 × 32: ``value_hidden=(32, 32)``).

    ``training_dtype`` is the precision of the learner's passes through μ and V on a batch (the
    matmuls and tanh of forward and backward). ``"float64"`` (default) is what every committed
    study was made with. ``"float32"`` is the precision the paper's TensorFlow code, SB3 and
    CleanRL train in, and those passes are ~2.7× faster on a full batch of 2,048 states
    (results/perf/float32-update.json). Either way the parameters, Adam, the loss and its
    statistics stay float64: float32 rounds each pass's inputs and outputs, not the state that
    accumulates over training. GPO's crossover trains its children in the same precision (DAgger's
    fits); inference (collection, evaluation) and the selectors' fits are float64 in both.
    """

    hidden: tuple[int, ...] = (64, 64)
    value_hidden: tuple[int, ...] = (64, 64)
    init_log_std: float = 0.0
    normalize_obs: bool = True
    clip_obs: float = 10.0
    # Runs recorded before this field existed read as its default (bench.runs.suite.with_new_defaults),
    # which is right only while the default is float64, what they were made with.
    training_dtype: Literal["float64", "float32"] = "float64"

    def __post_init__(self) -> None:
        if self.training_dtype not in TRAINING_DTYPES:
            raise ValueError(f"training_dtype must be one of {TRAINING_DTYPES}, got {self.training_dtype!r}")
        for name in ("hidden", "value_hidden"):
            widths = getattr(self, name)
            if not widths or any(int(w) <= 0 for w in widths):
                raise ValueError(f"{name} must be a non-empty tuple of positive widths, got {widths}")
        if self.clip_obs <= 0:
            raise ValueError(f"clip_obs must be > 0, got {self.clip_obs}")


class ActorCritic:
    """Gaussian policy μ_θ, log σ and value function V_φ, plus the observation normaliser."""

    def __init__(self, obs_dim: int, act_dim: int, config: PolicyConfig, rng: np.random.Generator):
        self.obs_dim, self.act_dim, self.config = obs_dim, act_dim, config
        pi_sizes: Sequence[int] = (obs_dim, *config.hidden, act_dim)
        vf_sizes: Sequence[int] = (obs_dim, *config.value_hidden, 1)
        n_pi, n_vf = mlp_size(pi_sizes), mlp_size(vf_sizes)
        self.params = np.zeros(n_pi + act_dim + n_vf)
        self.grads = np.zeros_like(self.params)
        end_pi, end_std = n_pi, n_pi + act_dim
        self.pi = MLP(pi_sizes, self.params[:end_pi], self.grads[:end_pi])
        self.log_std = self.params[end_pi:end_std]
        self.grad_log_std = self.grads[end_pi:end_std]
        self.vf = MLP(vf_sizes, self.params[end_std:], self.grads[end_std:])
        self.policy_params = self.params[:end_std]
        self.policy_grads = self.grads[:end_std]
        self.obs_normalizer = ObservationNormalizer(obs_dim, config.clip_obs, config.normalize_obs)
        # Small output gain for μ so the first actions stay near 0 (Andrychowicz et al. 2021).
        self.pi.init_orthogonal(rng, out_gain=0.01)
        self.vf.init_orthogonal(rng, out_gain=1.0)
        self.log_std[...] = config.init_log_std
        # The training passes of μ and V, in the configured precision (PolicyConfig).
        self._train_pi = TrainingPasses(self.pi, config.training_dtype)
        self._train_vf = TrainingPasses(self.vf, config.training_dtype)

    # -- inference (no gradients) ------------------------------------------------------------
    def mean_action(self, raw_obs: Array) -> Array:
        """Deterministic action μ_θ(ŝ) for raw observations (evaluation)."""
        return self.pi(self.obs_normalizer(raw_obs))

    def value(self, norm_obs: Array) -> Array:
        return self.vf(norm_obs)[..., 0]

    # -- training ------------------------------------------------------------------------------
    def forward(self, norm_obs: Array):
        """μ, V (float64) and the activations needed by :meth:`backward`, computed in the
        configured ``training_dtype``."""
        mean, pi_cache = self._train_pi.forward(norm_obs)
        value, vf_cache = self._train_vf.forward(norm_obs)
        return mean, value[:, 0], (pi_cache, vf_cache)

    def backward(self, cache, d_mean: Array, d_log_std: Array, d_value: Array | None) -> None:
        """Write ∂L/∂params into ``grads`` from ∂L/∂μ (B, A), ∂L/∂log σ (A,) and ∂L/∂V (B,)."""
        pi_cache, vf_cache = cache
        self._train_pi.backward(pi_cache, d_mean)
        self.grad_log_std[...] = d_log_std
        if d_value is None:
            self.vf.grads[...] = 0.0
        else:
            self._train_vf.backward(vf_cache, d_value[:, None])

    def renormalize_inputs(self, rms: RunningMeanStd) -> None:
        """Adopt new observation statistics without changing what the networks compute.

        ŝ_old = (s − m_old)/σ_old = (σ_new ŝ_new + m_new − m_old)/σ_old is affine in ŝ_new, so it
        folds into the first layer of μ and V: W ← diag(σ_new/σ_old) W, b ← b + ((m_new − m_old)/σ_old) W.
        Exact wherever neither normalisation clips (|ŝ| < clip_obs). Used when GPO's crossover
        gives a child the merged statistics of both parents (Section 3.2).
        """
        if not self.obs_normalizer.enabled:
            return
        old = self.obs_normalizer.rms
        std_old, std_new = np.sqrt(old.var + 1e-8), np.sqrt(rms.var + 1e-8)
        for mlp in (self.pi, self.vf):
            W, b = mlp.layers[0]
            b += ((rms.mean - old.mean) / std_old) @ W
            W *= (std_new / std_old)[:, None]
        self.obs_normalizer.rms = rms.copy()

    def copy(self) -> ActorCritic:
        other = ActorCritic(self.obs_dim, self.act_dim, self.config, np.random.default_rng(0))
        other.load_state_dict(self.state_dict())
        return other

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"params": self.params.copy(), "obs_rms": self.obs_normalizer.rms.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.params[...] = state["params"]
        self.obs_normalizer.rms.load_state_dict(state["obs_rms"])
