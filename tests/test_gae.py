"""GAE on a hand-made trajectory: a time limit bootstraps, a terminal state does not."""

import numpy as np
import pytest

from gpo.core.gae import gae

GAMMA, LAM = 0.9, 0.8
REWARDS = np.array([[1.0], [1.0], [1.0]])
VALUES = np.array([[0.5], [0.4], [0.3]])
# Step 1 ends an episode; V of its true final state is 2.0. Step 2 starts a new episode.
NEXT_VALUES = np.array([[0.4], [2.0], [0.7]])
NOT_DONE = np.zeros((3, 1), dtype=bool)
AT_STEP_1 = np.array([[False], [True], [False]])


def test_truncation_bootstraps_with_the_final_state_value():
    adv, ret = gae(REWARDS, VALUES, NEXT_VALUES, NOT_DONE, AT_STEP_1, GAMMA, LAM)
    d0, d1, d2 = 1 + 0.9 * 0.4 - 0.5, 1 + 0.9 * 2.0 - 0.4, 1 + 0.9 * 0.7 - 0.3
    np.testing.assert_allclose(adv[:, 0], [d0 + 0.72 * d1, d1, d2], rtol=1e-14)
    np.testing.assert_allclose(ret, adv + VALUES)


def test_termination_does_not_bootstrap():
    adv, _ = gae(REWARDS, VALUES, NEXT_VALUES, AT_STEP_1, NOT_DONE, GAMMA, LAM)
    d0, d1, d2 = 1 + 0.9 * 0.4 - 0.5, 1 - 0.4, 1 + 0.9 * 0.7 - 0.3
    np.testing.assert_allclose(adv[:, 0], [d0 + 0.72 * d1, d1, d2], rtol=1e-14)


def test_no_episode_end_is_plain_gae_and_lambda_one_is_the_n_step_return():
    chained = np.array([[0.4], [0.3], [0.7]])  # within one episode V(s_{t+1}) is the next V(s_t)
    adv, ret = gae(REWARDS, VALUES, chained, NOT_DONE, NOT_DONE, GAMMA, 1.0)
    # λ = 1: R_t = Σ γ^k r_{t+k} + γ^{T−t} V(s_T), bootstrapped at the rollout's end.
    r2 = 1 + 0.9 * 0.7
    r1 = 1 + 0.9 * r2
    r0 = 1 + 0.9 * r1
    np.testing.assert_allclose(ret[:, 0], [r0, r1, r2], rtol=1e-14)


@pytest.mark.parametrize("n_envs", [1, 3])
def test_columns_are_independent_environments(rng, n_envs):
    shape = (5, n_envs)
    r, v, nv = rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)
    term, trunc = rng.random(shape) < 0.2, rng.random(shape) < 0.2
    adv, _ = gae(r, v, nv, term, trunc, GAMMA, LAM)
    for i in range(n_envs):
        col, _ = gae(
            r[:, i : i + 1],
            v[:, i : i + 1],
            nv[:, i : i + 1],
            term[:, i : i + 1],
            trunc[:, i : i + 1],
            GAMMA,
            LAM,
        )
        np.testing.assert_allclose(adv[:, i], col[:, 0])
