"""PPO (both objectives) and A2C losses: hand-computed values, and gradients of every parameter
against the same loss written in torch and differentiated by autograd."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from gpo.core.a2c import A2CConfig, a2c_loss
from gpo.core.learner import Batch
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.ppo import PPOConfig, ppo_loss

OBS, A, B = 4, 2, 16


def make_batch(rng, agent: ActorCritic) -> Batch:
    obs = rng.standard_normal((B, OBS))
    # The sampling policy differs from the current one, so ratios straddle the clip range.
    means = agent.pi(obs) + 0.3 * rng.standard_normal((B, A))
    log_std = agent.log_std + 0.2 * rng.standard_normal(A)
    actions = means + np.exp(log_std) * rng.standard_normal((B, A))
    z = (actions - means) / np.exp(log_std)
    log_probs = (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    return Batch(
        obs, actions, log_probs, means, log_std, np.zeros(B), rng.standard_normal(B), rng.standard_normal(B)
    )


def torch_loss(agent: ActorCritic, batch: Batch, kind: str, cfg, kl_coef: float = 0.0):
    """The textbook losses in torch (SB3's formulas), as the reference."""
    flat = torch.tensor(agent.params, requires_grad=True)
    sizes_pi, sizes_vf = agent.pi.sizes, agent.vf.sizes

    def mlp(sizes, start):
        h = torch.tensor(batch.obs)
        for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
            W = flat[start : start + i * o].view(i, o)
            start += i * o
            h = h @ W + flat[start : start + o]
            start += o
            if k < len(sizes) - 2:
                h = torch.tanh(h)
        return h, start

    mean, end = mlp(sizes_pi, 0)
    log_std = flat[end : end + A]
    value, _ = mlp(sizes_vf, end + A)
    dist = Normal(mean, log_std.exp())
    logp = dist.log_prob(torch.tensor(batch.actions)).sum(-1)
    adv = torch.tensor(batch.advantages)
    if cfg.normalize_advantage:
        adv = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-8)
    if kind == "a2c":
        policy_loss = -(logp * adv).mean()
    else:
        ratio = (logp - torch.tensor(batch.log_probs)).exp()
        if cfg.objective == "clip":
            clipped = ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
            policy_loss = -torch.min(ratio * adv, clipped * adv).mean()
        else:
            old = Normal(torch.tensor(batch.means), torch.tensor(np.exp(batch.log_std)))
            policy_loss = -(ratio * adv).mean() + kl_coef * kl_divergence(old, dist).sum(-1).mean()
    value_loss = ((value[:, 0] - torch.tensor(batch.returns)) ** 2).mean()
    entropy = dist.entropy().sum(-1).mean()
    loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
    loss.backward()
    return float(loss.detach()), flat.grad.numpy()


@pytest.mark.parametrize(
    "cfg",
    [
        PPOConfig(ent_coef=0.01),
        PPOConfig.kl_penalty(ent_coef=0.01),
        PPOConfig(normalize_advantage=False, clip_coef=0.1),
    ],
    ids=["clip", "kl_penalty", "clip-raw-advantages"],
)
def test_ppo_loss_gradient_matches_autograd(rng, cfg):
    agent = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,)), rng)
    agent.params += 0.1 * rng.standard_normal(agent.params.shape)  # leave the symmetric init
    batch = make_batch(rng, agent)
    mean, value, cache = agent.forward(batch.obs)
    loss = ppo_loss(batch, mean, agent.log_std, value, cfg, kl_coef=0.7)
    agent.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
    ref_loss, ref_grad = torch_loss(agent, batch, "ppo", cfg, kl_coef=0.7)
    assert 0.0 < loss.clip_fraction < 1.0 or cfg.objective == "kl_penalty"
    assert np.isclose(loss.total, ref_loss, rtol=1e-10)
    np.testing.assert_allclose(agent.grads, ref_grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    "cfg", [A2CConfig.sb3(ent_coef=0.01), A2CConfig.paper(ent_coef=0.01)], ids=["sb3", "paper"]
)
def test_a2c_loss_gradient_matches_autograd(rng, cfg):
    agent = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,)), rng)
    agent.params += 0.1 * rng.standard_normal(agent.params.shape)
    batch = make_batch(rng, agent)
    mean, value, cache = agent.forward(batch.obs)
    loss = a2c_loss(batch, mean, agent.log_std, value, cfg)
    agent.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
    ref_loss, ref_grad = torch_loss(agent, batch, "a2c", cfg)
    assert np.isclose(loss.total, ref_loss, rtol=1e-10)
    np.testing.assert_allclose(agent.grads, ref_grad, rtol=1e-8, atol=1e-12)


def test_clipped_surrogate_hand_computed():
    """Three samples, 1-d actions, σ = 1, μ = 0: ratios e^{0.5}, 1, e^{-0.5} against ε = 0.2."""
    log_std = np.zeros(1)
    actions = np.zeros((3, 1))  # log π_new(0) = −½ log 2π for every sample
    new_logp = -0.5 * math.log(2 * math.pi)
    log_probs = new_logp - np.array([0.5, 0.0, -0.5])  # so r = (e^0.5, 1, e^-0.5)
    adv = np.array([1.0, 2.0, -1.0])
    batch = Batch(
        np.zeros((3, 1)), actions, log_probs, np.zeros((3, 1)), log_std, np.zeros(3), adv, np.zeros(3)
    )
    cfg = replace(PPOConfig(), normalize_advantage=False, vf_coef=0.0)
    loss = ppo_loss(batch, np.zeros((3, 1)), log_std, np.zeros(3), cfg, kl_coef=0.0)
    # min(r·A, clip(r)·A): sample 1 → 1.2·1 (clipped), 2 → 2, 3 → min(-e^-0.5, -0.8) = -0.8
    expected = -(1.2 + 2.0 - 0.8) / 3
    assert np.isclose(loss.policy, expected, rtol=1e-14)
    assert np.isclose(loss.clip_fraction, 2 / 3)
    # Gradient flows only through sample 2 (samples 1 and 3 are clipped on their improving side).
    assert loss.d_mean[0, 0] == 0.0 and loss.d_mean[2, 0] == 0.0 and loss.d_mean[1, 0] == 0.0
    assert np.isclose(loss.d_log_std[0], -(2.0 * 1.0 / 3) * (0.0 - 1.0))


@pytest.mark.parametrize("config", [PPOConfig.kl_penalty(), PPOConfig(n_minibatches=8)], ids=["kl", "clip"])
def test_an_update_with_the_fast_tanh_equals_one_with_numpys_to_1e10(monkeypatch, config):
    """The speed work may change float rounding, never the algorithm: a whole PPO update (10 epochs
    of Adam) with torch's tanh in the training passes ends within 1e-10 of the same update with
    NumPy's tanh."""
    import gpo.core.nn
    from gpo.core.ppo import PPO
    from gpo.core.rollout import RolloutCollector
    from gpo.core.vector_env import make_vector_env

    envs = make_vector_env("HalfCheetah-v5", 1)
    agent = ActorCritic(17, 6, PolicyConfig(), np.random.default_rng(0))
    rollout = RolloutCollector(envs, seed=0).collect(agent, 512, np.random.default_rng(1))
    envs.close()

    def updated(tanh) -> np.ndarray:
        monkeypatch.setattr(gpo.core.nn, "tanh_", tanh)
        member = agent.copy()
        PPO(config, member).update(member, rollout, np.random.default_rng(2))
        return member.params

    fast = updated(gpo.core.nn.tanh_)
    slow = updated(lambda x: np.tanh(x, out=x))
    assert not np.array_equal(fast, slow)  # the two tanh do differ in the last bit somewhere
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-10)
    assert np.abs(fast - agent.params).max() > 1e-4  # and the update did move the parameters


@pytest.mark.parametrize("cfg", [PPOConfig(), PPOConfig.kl_penalty()], ids=["clip", "kl_penalty"])
def test_ppo_loss_without_its_statistics_has_the_same_gradient_bit_for_bit(rng, cfg):
    agent = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,)), rng)
    batch = make_batch(rng, agent)
    mean, value, _ = agent.forward(batch.obs)
    full = ppo_loss(batch, mean, agent.log_std, value, cfg, kl_coef=0.7)
    bare = ppo_loss(batch, mean, agent.log_std, value, cfg, kl_coef=0.7, stats=False)
    for name in ("d_mean", "d_log_std", "d_value"):
        np.testing.assert_array_equal(getattr(bare, name), getattr(full, name))
    assert math.isfinite(full.total) and math.isnan(bare.total) and math.isnan(bare.approx_kl)


@pytest.mark.parametrize("n_minibatches", [1, 5, 32])
def test_ppo_update_equals_the_textbook_loop_over_gathered_minibatches(rng, n_minibatches):
    """The update shuffles the batch once per epoch and slices it; the textbook loop gathers each
    part of np.array_split(permutation) and reports every statistic. Same parameters, bit for bit,
    and the same reported losses (the final epoch's)."""
    from gpo.core.optim import clip_grad_norm
    from gpo.core.ppo import PPO

    cfg = PPOConfig(n_steps=103, n_minibatches=n_minibatches, n_epochs=3)
    agent = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,)), rng)
    batch = make_batch(rng, agent)
    batch = Batch.concat([batch] * 7)  # 112 rows: array_split's parts differ in size
    batch.advantages = rng.standard_normal(len(batch))

    fast, slow = agent.copy(), agent.copy()
    learner = PPO(cfg, fast)
    learner.make_batch = lambda rollout, extra: batch
    reported = learner.update(fast, None, np.random.default_rng(5))

    reference = PPO(cfg, slow)
    gen, last = np.random.default_rng(5), []
    for _ in range(cfg.n_epochs):
        order = gen.permutation(len(batch)) if n_minibatches > 1 else np.arange(len(batch))
        last = []
        for idx in np.array_split(order, n_minibatches):
            mb = batch.take(idx)
            mean, value, cache = slow.forward(mb.obs)
            loss = ppo_loss(mb, mean, slow.log_std, value, cfg, reference.kl_coef)
            slow.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
            clip_grad_norm(slow.grads, cfg.max_grad_norm)
            reference.optimizer.step()
            last.append(loss)
    np.testing.assert_array_equal(fast.params, slow.params)
    assert np.abs(fast.params - agent.params).max() > 1e-4
    assert reported["approx_kl"] == float(np.mean([s.approx_kl for s in last]))
    assert reported["policy_loss"] == float(np.mean([s.policy for s in last]))


@pytest.mark.parametrize(
    "cfg",
    [PPOConfig(ent_coef=0.01), PPOConfig.kl_penalty(), A2CConfig(), A2CConfig.paper()],
    ids=["clip", "kl_penalty", "a2c-sb3", "a2c-paper"],
)
def test_float32_training_passes_give_the_float64_gradient_to_float32_precision(rng, cfg):
    """PolicyConfig(training_dtype="float32") runs μ's and V's passes in float32 and hands the
    optimizer a float64 gradient that agrees with autograd's float64 one to float32's precision."""
    agent = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,), training_dtype="float32"), rng)
    agent.params += 0.1 * rng.standard_normal(agent.params.shape)
    batch = make_batch(rng, agent)
    mean, value, cache = agent.forward(batch.obs)
    assert mean.dtype == value.dtype == np.float64 and cache[0][0].dtype == np.float32
    kind = "a2c" if isinstance(cfg, A2CConfig) else "ppo"
    if kind == "a2c":
        loss = a2c_loss(batch, mean, agent.log_std, value, cfg)
    else:
        loss = ppo_loss(batch, mean, agent.log_std, value, cfg, kl_coef=0.7)
    agent.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
    ref_loss, ref_grad = torch_loss(agent, batch, kind, cfg, kl_coef=0.7)
    assert agent.grads.dtype == np.float64
    assert not np.allclose(agent.grads, ref_grad, rtol=1e-9, atol=0)  # float32 did round somewhere
    np.testing.assert_allclose(agent.grads, ref_grad, rtol=1e-4, atol=1e-6 * np.abs(ref_grad).max())
    assert np.isclose(loss.total, ref_loss, rtol=1e-5)


@pytest.mark.parametrize("config", [PPOConfig.kl_penalty(), PPOConfig(n_minibatches=8)], ids=["kl", "clip"])
def test_a_float32_update_is_deterministic_and_moves_the_parameters_as_float64_does(config):
    """A whole PPO update (10 epochs of Adam on 512 HalfCheetah steps) with float32 training passes:
    the same bits twice, and within 1e-4 of the float64 update's movement of every parameter."""
    from gpo.core.ppo import PPO
    from gpo.core.rollout import RolloutCollector
    from gpo.core.vector_env import make_vector_env

    envs = make_vector_env("HalfCheetah-v5", 1)
    agent = ActorCritic(17, 6, PolicyConfig(), np.random.default_rng(0))
    rollout = RolloutCollector(envs, seed=0).collect(agent, 512, np.random.default_rng(1))
    envs.close()

    def updated(dtype: str) -> np.ndarray:
        member = ActorCritic(17, 6, PolicyConfig(training_dtype=dtype), np.random.default_rng(0))
        member.load_state_dict(agent.state_dict())
        PPO(config, member).update(member, rollout, np.random.default_rng(2))
        return member.params

    double, single, again = updated("float64"), updated("float32"), updated("float32")
    assert np.array_equal(single, again) and single.dtype == np.float64
    movement = np.abs(double - agent.params).max()
    assert movement > 1e-4 and not np.array_equal(single, double)
    np.testing.assert_allclose(single - agent.params, double - agent.params, rtol=0, atol=1e-4 * movement)


def test_an_unknown_training_dtype_is_refused_with_what_is_accepted():
    with pytest.raises(ValueError, match=r"training_dtype must be one of \('float64', 'float32'\)"):
        PolicyConfig(training_dtype="float16")


def test_the_papers_a2c_takes_one_adam_step_of_the_a2c_loss_per_batch(rng):
    """``A2CConfig.paper()``: an update is ONE Adam step on the A2C loss's gradient over the whole
    batch (standardised GAE advantages, gradient clipped at 0.5), the very step written out here
    with the optimiser alone; the SB3 configuration steps RMSprop instead."""
    from gpo.core.a2c import A2C
    from gpo.core.optim import Adam, RMSprop, clip_grad_norm
    from gpo.core.rollout import Rollout

    cfg = A2CConfig.paper(n_steps=64, reward_scaling=False)
    agent = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,)), rng)
    T = cfg.n_steps
    obs = rng.standard_normal((T, 1, OBS))
    mean, value, _ = agent.forward(obs.reshape(T, OBS))
    actions = mean[:, None] + rng.standard_normal((T, 1, A))
    rollout = Rollout(
        obs=obs,
        raw_obs=obs,
        next_raw_obs=obs,
        actions=actions,
        log_probs=np.zeros((T, 1)),
        means=mean[:, None],
        log_std=agent.log_std.copy(),
        values=value[:, None],
        rewards=rng.standard_normal((T, 1)),
        terminated=np.zeros((T, 1), bool),
        truncated=np.zeros((T, 1), bool),
        next_values=value[:, None],
    )
    reference = ActorCritic(OBS, A, PolicyConfig(hidden=(8, 8), value_hidden=(6,)), rng)
    reference.params[...] = agent.params
    learner = A2C(cfg, agent)
    assert isinstance(learner.optimizer, Adam) and isinstance(A2C(A2CConfig(), reference).optimizer, RMSprop)
    batch = learner.make_batch(rollout, ())
    learner.update(agent, rollout, np.random.default_rng(0))
    assert learner.optimizer.t == 1  # one step for the batch

    adam = Adam(reference.params, reference.grads, cfg.learning_rate, eps=cfg.adam_eps)
    mean, value, cache = reference.forward(batch.obs)
    loss = a2c_loss(batch, mean, reference.log_std, value, cfg)
    reference.backward(cache, loss.d_mean, loss.d_log_std, loss.d_value)
    clip_grad_norm(reference.grads, cfg.max_grad_norm)
    adam.step()
    np.testing.assert_array_equal(agent.params, reference.params)
