"""Generalised advantage estimation (Schulman et al. 2016), with time limits handled correctly.

    δ_t = r_t + γ V(s_{t+1}) (1 − terminated_t) − V(s_t)
    A_t = δ_t + γ λ (1 − done_t) A_{t+1},       done_t = terminated_t or truncated_t

V(s_{t+1}) is the value of the true next state: on truncation (a time limit, not a property of
the MDP) the return is bootstrapped with it; on termination it is zero. Both cut the recursion,
since s_{t+1} starts a new episode in the stored trajectory. The value target is A_t + V(s_t).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def gae(
    rewards: Array,
    values: Array,
    next_values: Array,
    terminated: Array,
    truncated: Array,
    gamma: float,
    lam: float,
) -> tuple[Array, Array]:
    """Advantages and value targets for (T, N) arrays in time order."""
    deltas = rewards + gamma * next_values * (1.0 - terminated) - values
    carry = gamma * lam * (1.0 - (terminated | truncated))
    advantages = np.empty_like(deltas)
    running = np.zeros(deltas.shape[1:])
    for t in range(deltas.shape[0] - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + values
