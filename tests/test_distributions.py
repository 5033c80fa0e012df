"""Gaussian log-probability, entropy and KL: hand-computed values and torch's gradients."""

import math

import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from gpo.core import distributions


def test_log_prob_hand_computed():
    # One 2-d action: a = (1, -1), μ = (0, 0), σ = (1, 2).
    a, mu, log_std = np.array([[1.0, -1.0]]), np.zeros((1, 2)), np.log([1.0, 2.0])
    expected = (-0.5 * 1.0 - 0.5 * math.log(2 * math.pi)) + (
        -0.5 * 0.25 - math.log(2.0) - 0.5 * math.log(2 * math.pi)
    )
    assert np.isclose(distributions.log_prob(a, mu, log_std).value[0], expected, rtol=1e-14)
    np.testing.assert_allclose(distributions.log_prob_value(a, mu, log_std), [expected])


def test_entropy_hand_computed():
    log_std = np.log([1.0, 2.0])
    expected = 2 * 0.5 * (1 + math.log(2 * math.pi)) + math.log(2.0)
    assert np.isclose(distributions.entropy(log_std), expected, rtol=1e-14)


def test_kl_hand_computed_and_zero_on_equal():
    # KL(N(0,1) ‖ N(1, 2²)) = log 2 + (1 + 1)/(2·4) − ½
    value = distributions.kl(np.zeros((1, 1)), np.zeros(1), np.ones((1, 1)), np.log([2.0])).value
    assert np.isclose(value[0], math.log(2.0) + 0.25 - 0.5, rtol=1e-14)
    mu, ls = np.array([[0.3, -0.2]]), np.array([0.1, -0.4])
    assert distributions.kl(mu, ls, mu, ls).value[0] == 0.0


def test_log_prob_and_kl_gradients_match_torch(rng):
    B, A = 5, 3
    a, mu, ls = rng.standard_normal((B, A)), rng.standard_normal((B, A)), 0.3 * rng.standard_normal(A)
    mu_q, ls_q = rng.standard_normal((B, A)), 0.3 * rng.standard_normal(A)

    t_mu, t_ls = torch.tensor(mu, requires_grad=True), torch.tensor(ls, requires_grad=True)
    ref = Normal(t_mu, t_ls.exp()).log_prob(torch.tensor(a)).sum(-1)
    ref.sum().backward()
    lp = distributions.log_prob(a, mu, ls)
    np.testing.assert_allclose(lp.value, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(lp.d_mean, t_mu.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lp.d_log_std.sum(0), t_ls.grad.numpy(), rtol=1e-12)

    tp_mu, tp_ls = torch.tensor(mu, requires_grad=True), torch.tensor(ls, requires_grad=True)
    tq_mu, tq_ls = torch.tensor(mu_q, requires_grad=True), torch.tensor(ls_q, requires_grad=True)
    ref_kl = kl_divergence(Normal(tp_mu, tp_ls.exp()), Normal(tq_mu, tq_ls.exp())).sum(-1)
    ref_kl.sum().backward()
    k = distributions.kl(mu, ls, mu_q, ls_q)
    np.testing.assert_allclose(k.value, ref_kl.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(k.d_mean_p, tp_mu.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(k.d_log_std_p.sum(0), tp_ls.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(k.d_mean_q, tq_mu.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(k.d_log_std_q.sum(0), tq_ls.grad.numpy(), rtol=1e-12)
