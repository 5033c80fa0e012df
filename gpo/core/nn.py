"""Small tanh MLPs with an explicit backward pass, living in slices of one flat float64 vector.

Why NumPy and hand-written gradients rather than torch autograd: the networks of the paper are
tiny (two hidden layers of 64, Section 4), so a PPO minibatch step is dominated by framework
overhead, not arithmetic. Measured on this project's CPU machine: one clipped-PPO minibatch step
of policy + value (batch 64) takes ~0.84 ms with torch eager autograd and ~0.21 ms as explicit
NumPy float64. Every gradient here is checked against torch autograd in ``tests/``.

Parameters and gradients live in flat vectors owned by the caller (an optimizer then updates one
array), and the MLP holds views into them. Never rebind those arrays; copy into them in place.

One operation is borrowed from torch: the tanh of the training passes (:func:`tanh_`). On a CPU
without AVX-512, NumPy's float64 tanh is a scalar libm loop, and it was the largest single cost of a
PPO update (4 of them on (2048, 64) arrays per epoch: ~40% of the forward pass); torch's vectorised
kernel is ~2.3× faster there. With AVX-512 NumPy's tanh is vectorised too, and the two cost about
the same (~1.8 ns an element on a (2048, 64) batch, measured 2026-11-26). Inference on a step's few
states keeps ``np.tanh``, whose per-call overhead is lower.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

Array = np.ndarray


def tanh_(x: Array) -> Array:
    """tanh of a float64 array, in place, with torch's vectorised kernel (zero-copy).

    Within 1 ulp of ``np.tanh``; each element's value depends only on that element, never on the
    array's size, layout or torch's thread count (checked in tests/test_nn.py), so results stay
    bit-identical however members are batched.
    """
    torch.from_numpy(x).tanh_()
    return x


def mlp_size(sizes: Sequence[int]) -> int:
    """Number of parameters of an MLP with layer widths ``sizes`` (input first, output last)."""
    return sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))


def _layer_views(flat: Array, sizes: Sequence[int]) -> list[tuple[Array, Array]]:
    """(W, b) views of each layer; with a leading member axis, W is (k, in, out), b (k, 1, out)."""
    lead = flat.shape[:-1]
    layers, start = [], 0
    for i, o in zip(sizes[:-1], sizes[1:]):
        W = flat[..., start : start + i * o].reshape(*lead, i, o)
        start += i * o
        b = flat[..., start : start + o]
        if lead:
            b = b.reshape(*lead, 1, o)
        if not (np.shares_memory(W, flat) and np.shares_memory(b, flat)):
            raise ValueError("an MLP's parameters must be views of its flat array")  # never a copy
        start += o
        layers.append((W, b))
    return layers


def orthogonal(rng: np.random.Generator, rows: int, cols: int, gain: float) -> Array:
    """Orthogonal matrix (Saxe et al. 2014) as torch.nn.init.orthogonal_ draws it."""
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # make the draw uniform over the orthogonal group
    if rows < cols:
        q = q.T
    return gain * q[:rows, :cols]


class MLP:
    """y = L_k(tanh(... tanh(L_1(x)))) with L_i(x) = x @ W_i + b_i (W stored as in × out).

    ``params`` of shape (n,) is one network. Of shape (k, n) it is k networks of one shape, each
    row its own parameters, trained as one batch: inputs (k, B, in), one stacked matmul per layer
    (DAgger's fits of a round's children, ``gpo.dagger``). NumPy's stacked matmul runs each slice
    through the kernel a 2-D matmul of that shape uses, and the rest is elementwise or a sum over
    the batch axis, so network j's numbers are exactly those it gets alone (tests/test_nn.py).
    """

    def __init__(self, sizes: Sequence[int], params: Array, grads: Array):
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs at least input and output sizes, got {tuple(sizes)}")
        n = mlp_size(sizes)
        if params.ndim not in (1, 2) or params.shape[-1] != n or grads.shape != params.shape:
            raise ValueError(f"MLP{tuple(sizes)} needs flat arrays of {n} parameters (or k rows of them)")
        self.sizes = tuple(int(s) for s in sizes)
        self.params, self.grads = params, grads
        self.layers = _layer_views(params, self.sizes)
        self.grad_layers = _layer_views(grads, self.sizes)

    def init_orthogonal(self, rng: np.random.Generator, out_gain: float) -> None:
        """Orthogonal weights (gain √2 for tanh hidden layers, ``out_gain`` last), zero biases.

        The usual PPO initialisation (Engstrom et al. 2020; SB3 and CleanRL both use it).
        """
        for k, (W, b) in enumerate(self.layers):
            gain = out_gain if k == len(self.layers) - 1 else np.sqrt(2.0)
            W[...] = orthogonal(rng, *W.shape, gain)
            b[...] = 0.0

    def __call__(self, x: Array) -> Array:
        """Forward pass without keeping activations (inference)."""
        *hidden, (W_out, b_out) = self.layers
        for W, b in hidden:
            x = np.tanh(x @ W + b)
        return x @ W_out + b_out

    def forward(self, x: Array) -> tuple[Array, list[Array]]:
        """Forward pass that keeps the activations the backward pass needs."""
        activations = [x]
        *hidden, (W_out, b_out) = self.layers
        for W, b in hidden:
            x = x @ W
            x += b  # in place: the same sum as x @ W + b without a second temporary
            activations.append(tanh_(x))
        y = x @ W_out
        y += b_out
        return y, activations

    def backward(self, activations: list[Array], dy: Array, accumulate: bool = False) -> None:
        """Write dL/dθ into ``grads`` given dL/dy for a batch (``accumulate`` adds instead)."""
        for k in range(len(self.layers) - 1, -1, -1):
            x = activations[k]
            gW, gb = self.grad_layers[k]
            x_t = np.swapaxes(x, -1, -2)  # x.T of each network
            keep = gb.ndim == dy.ndim  # stacked: b is (k, 1, out)
            if accumulate:
                gW += x_t @ dy
                gb += dy.sum(axis=-2, keepdims=keep)
            else:
                np.matmul(x_t, dy, out=gW)
                # np.sum is add.reduce behind a Python wrapper that costs as much as the sum here
                np.add.reduce(dy, axis=-2, out=gb, keepdims=keep)
            if k:
                # d tanh(u)/du = 1 - tanh(u)^2, and activations[k] = tanh(u_k); the products and
                # differences of (dy @ W.T) * (1 - x * x), written into one temporary
                slope = x * x
                np.subtract(1.0, slope, out=slope)
                dy = dy @ np.swapaxes(self.layers[k][0], -1, -2)
                dy *= slope


class TrainingPasses:
    """An MLP's forward and backward passes on a batch in float64 or float32.

    In float64 they are the MLP's own. In float32 they run through a float32 twin whose parameters
    are copied from the MLP's before each forward pass, take and give float64 arrays, and write
    the gradient, widened, into the MLP's float64 ``grads``: the parameters and the optimizer that
    accumulates over training stay float64, only the passes' matmuls and tanh round
    (``gpo.core.policy.PolicyConfig.training_dtype``).
    """

    def __init__(self, mlp: MLP, dtype: str = "float64"):
        self.mlp, self.net = mlp, mlp
        if dtype == "float32":
            params = np.zeros(mlp.params.shape, np.float32)
            self.net = MLP(mlp.sizes, params, np.zeros_like(params))

    def forward(self, x: Array) -> tuple[Array, list[Array]]:
        if self.net is not self.mlp:
            self.net.params[...] = self.mlp.params  # rounded to float32
            x = x.astype(np.float32)
        y, activations = self.net.forward(x)
        return y.astype(np.float64, copy=False), activations

    def backward(self, activations: list[Array], dy: Array) -> None:
        self.net.backward(activations, dy.astype(self.net.params.dtype, copy=False))
        if self.net is not self.mlp:
            self.mlp.grads[...] = self.net.grads  # widened to float64
