"""Diagonal Gaussian N(μ, diag σ²) with σ = exp(log_std): log-probability, entropy, KL divergence.

Each function returns its value and, where a loss needs it, the gradient with respect to the
distribution's parameters (checked against torch.distributions in tests/test_distributions.py).
Shapes: μ and actions are (B, A); log_std is (A,) (state-independent, Section 4 of the paper)
or (B, A).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Array = np.ndarray
HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


class LogProb(NamedTuple):
    value: Array  # (B,) log π(a|s)
    d_mean: Array  # (B, A) ∂ log π / ∂μ
    d_log_std: Array  # (B, A) ∂ log π / ∂ log σ (per sample; sum over the batch if shared)


def log_prob(actions: Array, mean: Array, log_std: Array) -> LogProb:
    """log N(a; μ, σ²) = Σ_j −½ z_j² − log σ_j − ½ log 2π, with z = (a − μ)/σ."""
    inv_std = np.exp(-log_std)
    z = (actions - mean) * inv_std
    value = -0.5 * np.sum(z * z, axis=-1) - np.sum(log_std + HALF_LOG_2PI, axis=-1)
    return LogProb(value, z * inv_std, z * z - 1.0)


def log_prob_value(actions: Array, mean: Array, log_std: Array) -> Array:
    """log N(a; μ, σ²) without gradients (rollout bookkeeping)."""
    z = (actions - mean) * np.exp(-log_std)
    return -0.5 * np.sum(z * z, axis=-1) - np.sum(log_std + HALF_LOG_2PI, axis=-1)


def entropy(log_std: Array) -> Array:
    """H = Σ_j log σ_j + ½(1 + log 2π); ∂H/∂ log σ_j = 1."""
    return np.sum(log_std + 0.5 + HALF_LOG_2PI, axis=-1)


class KL(NamedTuple):
    value: Array  # (B,) KL(p ‖ q)
    d_mean_p: Array  # (B, A)
    d_log_std_p: Array  # (B, A)
    d_mean_q: Array  # (B, A)
    d_log_std_q: Array  # (B, A)


def kl(mean_p: Array, log_std_p: Array, mean_q: Array, log_std_q: Array) -> KL:
    """Closed-form KL(p ‖ q) = Σ_j log σq/σp + (σp² + (μp − μq)²)/(2σq²) − ½, with gradients."""
    var_q_inv = np.exp(-2.0 * log_std_q)
    var_ratio = np.exp(2.0 * (log_std_p - log_std_q))  # σp²/σq²
    diff = mean_p - mean_q
    mahalanobis = diff * diff * var_q_inv
    value = np.sum(log_std_q - log_std_p + 0.5 * (var_ratio + mahalanobis) - 0.5, axis=-1)
    d_mean_p = diff * var_q_inv
    shape = np.broadcast_shapes(np.shape(mean_p), np.shape(log_std_p), np.shape(log_std_q))
    d_log_std_p = np.broadcast_to(var_ratio - 1.0, shape)
    d_log_std_q = np.broadcast_to(1.0 - var_ratio - mahalanobis, shape)
    return KL(value, d_mean_p, d_log_std_p, -d_mean_p, d_log_std_q)
