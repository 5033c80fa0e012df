"""Optimizers over one flat parameter vector, with torch's update rules (so results are comparable).

Each optimizer updates ``params`` in place from ``grads``; both are the caller's flat arrays.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def clip_grad_norm(grads: Array, max_norm: float) -> float:
    """Scale ``grads`` in place so that its global L2 norm is at most ``max_norm``.

    Returns the norm before clipping (torch.nn.utils.clip_grad_norm_'s rule, eps 1e-6).
    """
    norm = float(np.sqrt(np.dot(grads, grads)))
    if norm > max_norm:
        grads *= max_norm / (norm + 1e-6)
    return norm


class Adam:
    """Adam (Kingma & Ba 2015) exactly as torch.optim.Adam computes it (no weight decay)."""

    def __init__(self, params: Array, grads: Array, lr: float, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.grads = params, grads
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.t = 0

    def step(self) -> None:
        b1, b2 = self.betas
        self.t += 1
        self.m *= b1
        self.m += (1.0 - b1) * self.grads
        self.v *= b2
        self.v += (1.0 - b2) * self.grads * self.grads
        bias1 = 1.0 - b1**self.t
        bias2 = 1.0 - b2**self.t
        denom = np.sqrt(self.v) / np.sqrt(bias2) + self.eps
        self.params -= (self.lr / bias1) * self.m / denom

    def state_dict(self) -> dict:
        return {"m": self.m.copy(), "v": self.v.copy(), "t": self.t, "lr": self.lr}

    def load_state_dict(self, state: dict) -> None:
        self.m[...] = state["m"]
        self.v[...] = state["v"]
        self.t = int(state["t"])
        self.lr = float(state["lr"])


class RMSprop:
    """RMSprop as torch.optim.RMSprop computes it (eps outside the square root, no momentum)."""

    def __init__(self, params: Array, grads: Array, lr: float, alpha: float = 0.99, eps=1e-5):
        self.params, self.grads = params, grads
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.square_avg = np.zeros_like(params)

    def step(self) -> None:
        self.square_avg *= self.alpha
        self.square_avg += (1.0 - self.alpha) * self.grads * self.grads
        self.params -= self.lr * self.grads / (np.sqrt(self.square_avg) + self.eps)

    def state_dict(self) -> dict:
        return {"square_avg": self.square_avg.copy(), "lr": self.lr}

    def load_state_dict(self, state: dict) -> None:
        self.square_avg[...] = state["square_avg"]
        self.lr = float(state["lr"])
