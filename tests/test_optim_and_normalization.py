"""Optimizers step for step against torch; running statistics against batch statistics."""

import numpy as np
import pytest
import torch

from gpo.core.normalization import RewardScaler, RunningMeanStd, standardize
from gpo.core.optim import Adam, RMSprop, clip_grad_norm, minibatch_bounds, stacked_minibatches


def run_both(rng, make_ours, make_torch, steps=5):
    params = rng.standard_normal(7)
    grads = np.zeros(7)
    ours = make_ours(params, grads)
    t_params = torch.tensor(params.copy(), requires_grad=True)
    theirs = make_torch([t_params])
    for _ in range(steps):
        g = rng.standard_normal(7)
        grads[...] = g
        ours.step()
        t_params.grad = torch.tensor(g)
        theirs.step()
    np.testing.assert_allclose(params, t_params.detach().numpy(), rtol=1e-12)


def test_adam_matches_torch(rng):
    run_both(
        rng, lambda p, g: Adam(p, g, lr=0.01, eps=1e-5), lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-5)
    )


def test_rmsprop_matches_torch(rng):
    run_both(
        rng,
        lambda p, g: RMSprop(p, g, lr=0.01, alpha=0.99, eps=1e-5),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-5),
    )


def test_adam_step_is_bit_identical_to_the_textbook_expression(rng):
    """The step writes its intermediates into scratch arrays; the same operations in the same
    order as the plain expression must give the same bits (what the crossover's speed-up claims)."""
    params, grads = rng.standard_normal((3, 50)), np.zeros((3, 50))
    ours = Adam(params, grads, lr=0.003, eps=1e-5)
    ref, m, v = params.copy(), np.zeros_like(params), np.zeros_like(params)
    for t in range(1, 30):
        grads[...] = rng.standard_normal(grads.shape) * 10.0 ** rng.integers(-4, 2)
        ours.step()
        m = 0.9 * m + (1.0 - 0.9) * grads
        v = 0.999 * v + (1.0 - 0.999) * grads * grads
        ref = ref - (0.003 / (1.0 - 0.9**t)) * m / (np.sqrt(v) / np.sqrt(1.0 - 0.999**t) + 1e-5)
    np.testing.assert_array_equal(params, ref)
    np.testing.assert_array_equal(ours.v, v)


def test_stacked_minibatches_are_each_members_own_shuffle_of_its_own_rows(rng):
    """Member j's minibatches are np.array_split(rngs[j].permutation(n), b) of its own rows, drawn
    from its own generator, with uneven splits as array_split makes them."""
    k, n, b = 3, 23, 4
    data = rng.standard_normal((k, n, 2))
    labels = rng.integers(0, 5, (k, n))
    seeds = [11, 12, 13]
    expected = [np.array_split(np.random.default_rng(s).permutation(n), b) for s in seeds]
    gens = [np.random.default_rng(s) for s in seeds]
    batches = list(stacked_minibatches(gens, [data, labels], b))
    assert [idx.shape[1] for idx, _ in batches] == [6, 6, 6, 5]
    for i, (idx, (x, y)) in enumerate(batches):
        for j in range(k):
            np.testing.assert_array_equal(idx[j], expected[j][i])
            np.testing.assert_array_equal(x[j], data[j, expected[j][i]])
            np.testing.assert_array_equal(y[j], labels[j, expected[j][i]])


@pytest.mark.parametrize("n, parts", [(2048, 32), (112, 5), (7, 7), (10, 3), (5, 1)])
def test_minibatch_bounds_are_the_parts_of_array_split(n, parts):
    expected = [(int(p[0]), int(p[-1]) + 1) for p in np.array_split(np.arange(n), parts)]
    assert list(minibatch_bounds(n, parts)) == expected


@pytest.mark.parametrize("shape", [(2,), (7,), (64,), (2048,), (512, 1), (256, 3), (17, 9)])
def test_standardize_is_numpys_mean_and_std_bit_for_bit(rng, shape):
    for _ in range(20):
        x = rng.standard_normal(shape) * rng.uniform(0.01, 100) + rng.uniform(-50, 50)
        np.testing.assert_array_equal(standardize(x), (x - x.mean()) / (x.std() + 1e-8))


def test_clip_grad_norm_matches_torch(rng):
    g = 3.0 * rng.standard_normal(11)
    t = torch.zeros(11, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g.copy())
    ref_norm = torch.nn.utils.clip_grad_norm_([t], 0.5)
    norm = clip_grad_norm(g, 0.5)
    assert np.isclose(norm, float(ref_norm))
    np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)
    small = np.array([0.1, 0.1])
    clip_grad_norm(small, 0.5)
    np.testing.assert_array_equal(small, [0.1, 0.1])


def test_running_mean_std_equals_batch_statistics(rng):
    data = rng.standard_normal((1000, 3)) * [1.0, 5.0, 0.1] + [0.0, -2.0, 7.0]
    rms = RunningMeanStd((3,), epsilon=0.0 + 1e-12)
    for chunk in np.array_split(data, 7):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-9)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-9)


def test_reward_scaler_divides_by_discounted_return_std_step_by_step_and_resets_on_done():
    scaler = RewardScaler(n_envs=1, gamma=0.5, clip=100.0)
    rewards = np.array([[1.0], [1.0], [1.0], [1.0]])
    dones = np.array([[False], [True], [False], [False]])
    scaled = scaler(rewards, dones)
    returns = [1.0, 1.5, 1.0, 1.5]  # the running return restarts after the done
    replay = RunningMeanStd(())
    for t, ret in enumerate(returns):
        replay.update(np.array([ret]))  # the return joins the statistics first ...
        assert scaled[t, 0] == pytest.approx(1.0 / np.sqrt(replay.var + 1e-8), rel=1e-12)
    np.testing.assert_allclose(scaler.returns, [1.5])
    assert scaler.rms.count == pytest.approx(4 + 1e-4)


def test_one_env_reward_scaling_in_floats_is_bit_identical_to_the_array_arithmetic(rng):
    """The single-env fast path (Python floats) against the per-step NumPy recipe it replaces:
    same scaled rewards, statistics and running return, bit for bit, across episode ends."""
    rewards = rng.standard_normal((300, 1)) * 3.0 + 1.0
    dones = rng.random((300, 1)) < 0.02
    fast = RewardScaler(n_envs=1, gamma=0.99, clip=0.3)
    fast(rewards[:10], dones[:10])  # start from non-trivial statistics
    reference = RewardScaler(n_envs=1, gamma=0.99, clip=0.3)
    reference.load_state_dict(fast.state_dict())
    scaled = fast(rewards, dones)

    expected = np.empty_like(rewards)
    running = reference.returns
    for t in range(len(rewards)):  # the general (T, N) loop, run with N = 1
        running = reference.gamma * running + rewards[t]
        reference.rms.update(running)
        expected[t] = rewards[t] / reference.rms.std
        running = np.where(dones[t], 0.0, running)
    expected = np.minimum(np.maximum(expected, -0.3), 0.3)
    assert np.array_equal(scaled, expected)
    assert (np.abs(expected) == 0.3).any() and (np.abs(expected) < 0.3).any()  # clipped and not
    assert fast.rms.mean == reference.rms.mean and fast.rms.var == reference.rms.var
    assert fast.rms.count == reference.rms.count and np.array_equal(fast.returns, running)


def test_reward_scaler_resumed_from_a_torch_checkpoint_goes_on_exactly(rng, tmp_path):
    """A checkpoint (bench.runs.checkpoint: arrays as tensors) brings 0-d statistics back as shape (1,);
    the scaler must take them in its own shape and continue bit for bit as if never stopped."""
    from bench.runs.checkpoint import to_numpy, to_torch

    rewards, dones = rng.standard_normal((60, 1)), rng.random((60, 1)) < 0.1
    straight = RewardScaler(n_envs=1, gamma=0.99)
    first = straight(rewards[:30], dones[:30])
    torch.save(to_torch(straight.state_dict()), tmp_path / "scaler.pt")
    resumed = RewardScaler(n_envs=1, gamma=0.99)
    resumed.load_state_dict(to_numpy(torch.load(tmp_path / "scaler.pt", weights_only=True)))
    assert np.shape(resumed.rms.mean) == () and np.shape(resumed.rms.var) == ()
    assert np.array_equal(resumed(rewards[30:], dones[30:]), straight(rewards[30:], dones[30:]))
    assert len(first) == 30
