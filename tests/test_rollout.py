"""The collector on a hand-made env: done flags kept apart, V(s_{t+1}) of the true final state,
episode statistics, normaliser statistics updated only after the rollout."""

import gymnasium as gym
import numpy as np
import pytest

from gpo.policy import ActorCritic, PolicyConfig
from gpo.rollout import RolloutCollector


class Countdown(gym.Env):
    """obs = [steps taken]; reward 1 per step; the episode ends after 3 steps, by termination or
    by a time limit as chosen."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)

    def __init__(self, ending: str):
        self.ending, self.t = ending, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0]), {}

    def step(self, action):
        self.t += 1
        end = self.t == 3
        return (
            np.array([float(self.t)]),
            1.0,
            end and self.ending == "terminated",
            end and self.ending == "truncated",
            {},
        )


@pytest.mark.parametrize("ending", ["terminated", "truncated"])
def test_flags_next_values_and_episodes(rng, ending):
    envs = gym.vector.SyncVectorEnv(
        [lambda: Countdown(ending)] * 2, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    agent = ActorCritic(1, 1, PolicyConfig(hidden=(4,), value_hidden=(4,), normalize_obs=False), rng)
    agent.vf.params += rng.standard_normal(agent.vf.params.shape)  # make V(s) depend on s
    collector = RolloutCollector(envs, seed=0)
    rollout = collector.collect(agent, 4, rng)

    done_at_2 = np.array([False, False, True, False])
    np.testing.assert_array_equal(getattr(rollout, ending)[:, 0], done_at_2)
    other = "truncated" if ending == "terminated" else "terminated"
    assert not getattr(rollout, other).any()
    # obs stored: 0,1,2 then the reset obs 0; V(s_{t+1}) at t = 2 is of the final obs [3].
    np.testing.assert_array_equal(rollout.obs[:, 0, 0], [0, 1, 2, 0])
    expected_next = agent.value(np.array([[1.0], [2.0], [3.0], [1.0]]))
    np.testing.assert_allclose(rollout.next_values[:, 0], expected_next)
    np.testing.assert_allclose(rollout.values[:, 1], agent.value(np.array([[0.0], [1.0], [2.0], [0.0]])))
    assert rollout.episode_returns == [3.0, 3.0] and rollout.episode_lengths == [3, 3]
    assert rollout.n_steps == 8
    collector.close()


def test_observation_statistics_update_after_the_rollout(rng):
    envs = gym.vector.SyncVectorEnv(
        [lambda: Countdown("terminated")], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    agent = ActorCritic(1, 1, PolicyConfig(hidden=(4,), value_hidden=(4,)), rng)
    collector = RolloutCollector(envs, seed=0)
    rollout = collector.collect(agent, 3, rng)
    # Stored observations were normalised with the initial statistics (mean 0, var 1) ...
    np.testing.assert_allclose(rollout.obs[:, 0, 0], np.array([0, 1, 2]) / np.sqrt(1 + 1e-8))
    # ... and the statistics absorbed the raw observations afterwards.
    assert np.isclose(agent.obs_normalizer.rms.mean[0], 1.0, atol=1e-3)
    collector.close()
