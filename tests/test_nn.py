"""The MLP's explicit backward pass against torch autograd, and its initialisation."""

import numpy as np
import torch

from gpo.core.nn import MLP, mlp_size, orthogonal


def torch_mlp_output(params: np.ndarray, sizes, x: np.ndarray):
    flat = torch.tensor(params, requires_grad=True)
    h, start = torch.tensor(x), 0
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = flat[start : start + i * o].view(i, o)
        start += i * o
        b = flat[start : start + o]
        start += o
        h = h @ W + b
        if k < len(sizes) - 2:
            h = torch.tanh(h)
    return flat, h


def test_forward_and_backward_match_torch_autograd(rng):
    sizes = (5, 7, 6, 3)
    params, grads = rng.standard_normal(mlp_size(sizes)), np.zeros(mlp_size(sizes))
    mlp = MLP(sizes, params, grads)
    x = rng.standard_normal((4, 5))
    upstream = rng.standard_normal((4, 3))  # ∂L/∂y of some loss L = Σ y ⊙ upstream
    y, cache = mlp.forward(x)
    mlp.backward(cache, upstream)

    flat, y_ref = torch_mlp_output(params, sizes, x)
    (y_ref * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(y, y_ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(mlp(x), y, rtol=1e-12)
    np.testing.assert_allclose(grads, flat.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_backward_accumulates_when_asked(rng):
    sizes = (3, 4, 2)
    params, grads = rng.standard_normal(mlp_size(sizes)), np.zeros(mlp_size(sizes))
    mlp = MLP(sizes, params, grads)
    x, dy = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    _, cache = mlp.forward(x)
    mlp.backward(cache, dy)
    once = grads.copy()
    mlp.backward(cache, dy, accumulate=True)
    np.testing.assert_allclose(grads, 2 * once)


def test_orthogonal_init_is_orthogonal_with_gain(rng):
    W = orthogonal(rng, 64, 17, gain=2.0)
    np.testing.assert_allclose(W.T @ W, 4.0 * np.eye(17), atol=1e-10)
    W = orthogonal(rng, 17, 64, gain=1.0)
    np.testing.assert_allclose(W @ W.T, np.eye(17), atol=1e-10)


def test_init_writes_into_the_callers_flat_vector(rng):
    sizes = (3, 8, 2)
    params = np.zeros(mlp_size(sizes))
    mlp = MLP(sizes, params, np.zeros_like(params))
    mlp.init_orthogonal(rng, out_gain=0.01)
    W_out, b_out = mlp.layers[-1]
    assert np.abs(params).sum() > 0
    assert np.linalg.norm(W_out, 2) <= 0.01 + 1e-12
    assert not b_out.any()


def test_training_tanh_is_numpys_to_an_ulp_and_each_element_is_its_own():
    """Each element's tanh must not depend on where it sits (batch size, offset, layout, threads):
    GPO's results are the same for any grouping of members only if that holds."""
    from gpo.core.nn import tanh_

    x = np.random.default_rng(0).standard_normal(10_007) * 3
    full = tanh_(x.copy())
    np.testing.assert_allclose(full, np.tanh(x), rtol=0, atol=2.3e-16)
    for start in (1, 3, 5):
        np.testing.assert_array_equal(tanh_(x[start:].copy()), full[start:])
    one_by_one = np.array([tanh_(x[i : i + 1].copy())[0] for i in range(0, 10_007, 97)])
    np.testing.assert_array_equal(one_by_one, full[::97])
    grid = x[:10_000].reshape(100, 100)
    np.testing.assert_array_equal(tanh_(grid.T.copy()), full[:10_000].reshape(100, 100).T)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        np.testing.assert_array_equal(tanh_(x.copy()), full)
    finally:
        torch.set_num_threads(threads)


def test_stacked_networks_compute_exactly_what_each_computes_alone(rng):
    """k networks as rows of one array (DAgger's and the selectors' batched fits): forward values
    and gradients of each, bit for bit, those of the network alone, also as a column slice of a
    wider array (as a policy's μ-network is of its policy parameters) and when accumulating."""
    sizes, k = (17, 64, 64, 6), 3
    n = mlp_size(sizes)
    wide = rng.standard_normal((k, n + 6))  # μ-network | log σ
    params, grads = wide[:, :n], np.zeros((k, n))
    stacked = MLP(sizes, params, grads)
    x, dy = rng.standard_normal((k, 64, 17)), rng.standard_normal((k, 64, 6))
    y, cache = stacked.forward(x)
    stacked.backward(cache, dy)
    for j in range(k):
        alone_params, alone_grads = params[j].copy(), np.zeros(n)
        alone = MLP(sizes, alone_params, alone_grads)
        y_j, cache_j = alone.forward(x[j])
        alone.backward(cache_j, dy[j])
        assert np.array_equal(y[j], y_j) and np.array_equal(grads[j], alone_grads)
        assert np.array_equal(stacked.layers[0][1][j, 0], alone.layers[0][1])
    before = grads.copy()
    stacked.backward(cache, dy, accumulate=True)
    np.testing.assert_allclose(grads, 2 * before)
    stacked.layers[0][0][...] = 0.0  # the layers are views of the caller's array
    assert not wide[:, : 17 * 64].any()
