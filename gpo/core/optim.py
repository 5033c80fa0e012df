"""Optimizers over one flat parameter vector, with torch's update rules (so results are comparable).

Each optimizer updates ``params`` in place from ``grads``; both are the caller's flat arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
        # Scratch for the step's intermediates: DAgger's stacked fits step ~46k parameters
        # thousands of times, and fresh temporaries of that size cost more than the arithmetic.
        self._scratch = np.empty((2, *params.shape))

    def step(self) -> None:
        # The same operations in the same order as the textbook form below, each into scratch
        # (so the same bits):  m ← b1 m + (1 − b1) g;  v ← b2 v + ((1 − b2) g) g;
        # θ ← θ − ((lr / bias1) m) / (√v / √bias2 + eps)
        b1, b2 = self.betas
        g, a, b = self.grads, self._scratch[0], self._scratch[1]
        self.t += 1
        self.m *= b1
        np.multiply(g, 1.0 - b1, out=a)
        self.m += a
        self.v *= b2
        np.multiply(g, 1.0 - b2, out=a)
        a *= g
        self.v += a
        bias1 = 1.0 - b1**self.t
        bias2 = 1.0 - b2**self.t
        np.sqrt(self.v, out=a)
        a /= np.sqrt(bias2)
        a += self.eps
        np.multiply(self.m, self.lr / bias1, out=b)
        b /= a
        self.params -= b

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


def stacked_minibatches(
    rngs: Sequence[np.random.Generator], arrays: Sequence[Array], n_minibatches: int
) -> Iterator[tuple[Array, list[Array]]]:
    """One epoch of minibatches for k members fitted together (DAgger's and the selectors' fits).

    ``arrays`` have shape (k, n, ...): member j's dataset is row j. Member j's minibatches are
    ``np.array_split(rngs[j].permutation(n), n_minibatches)``, the usual shuffle from its own
    generator; each array is gathered once per epoch in that order, so a minibatch is a view
    (k, B, ...) rather than a fresh gather per step. Yields (indices (k, B), views).
    """
    k, n = arrays[0].shape[:2]
    order = np.stack([rng.permutation(n) for rng in rngs])  # (k, n)
    rows = np.arange(k)[:, None]
    shuffled = [a[rows, order] for a in arrays]
    for start, stop in minibatch_bounds(n, n_minibatches):
        yield order[:, start:stop], [a[:, start:stop] for a in shuffled]


def minibatch_bounds(n: int, n_minibatches: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each of ``np.array_split(range(n), n_minibatches)``'s parts: the first
    ``n % n_minibatches`` get one element more. Minibatches as slices of a batch shuffled once
    per epoch hold the same rows in the same order as gathering each part of the permutation."""
    size, extra = divmod(n, n_minibatches)
    start = 0
    for b in range(n_minibatches):
        stop = start + size + (b < extra)
        yield start, stop
        start = stop
