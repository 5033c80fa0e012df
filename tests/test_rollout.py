"""The collector on a hand-made env: done flags kept apart, V(s_{t+1}) of the true final state,
episode statistics, normaliser statistics updated only after the rollout."""

import gymnasium as gym
import numpy as np
import pytest

from gpo.core.normalization import RunningMeanStd
from gpo.core.policy import ActorCritic, PolicyConfig
from gpo.core.rollout import RolloutCollector


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


def test_each_observation_is_stored_as_the_policy_saw_it_with_per_step_statistics(rng):
    envs = gym.vector.SyncVectorEnv(
        [lambda: Countdown("terminated")], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    agent = ActorCritic(1, 1, PolicyConfig(hidden=(4,), value_hidden=(4,)), rng)
    collector = RolloutCollector(envs, seed=0)
    rollout = collector.collect(agent, 4, rng)
    # Replay the statistics: each observation first joins them, then is normalised with them.
    replay, expected, after_step = RunningMeanStd((1,)), [], []
    for obs in [0, 1, 2, 0]:
        replay.update(np.array([[float(obs)]]))
        expected.append(np.clip((obs - replay.mean[0]) / replay.std[0], -10, 10))
        after_step.append(replay.copy())

    def norm(x, rms):
        return np.clip((x - rms.mean[0]) / rms.std[0], -10, 10)

    # Within the episode V(s_{t+1}) sees s_{t+1} as the policy did at t + 1; the final state of
    # the episode (3, at t = 2) and the rollout's last next state (1) use the statistics of t.
    expected_next = [expected[1], expected[2], norm(3.0, after_step[2]), norm(1.0, after_step[3])]
    np.testing.assert_allclose(rollout.obs[:, 0, 0], expected, rtol=1e-12)
    # Log-probabilities are the behaviour policy's: μ evaluated on exactly those inputs.
    means = agent.pi(rollout.obs)
    z = (rollout.actions - means) / np.exp(agent.log_std)
    np.testing.assert_allclose(
        rollout.log_probs, (-0.5 * z**2 - agent.log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
    )
    np.testing.assert_allclose(rollout.next_values[:, 0], agent.value(np.array(expected_next)[:, None]))
    assert agent.obs_normalizer.rms.count == pytest.approx(4 + 1e-4)
    collector.close()


@pytest.mark.parametrize("env_id,steps", [("Hopper-v5", 300), ("Walker2d-v5", 300), ("HalfCheetah-v5", 1100)])
def test_lockstep_envs_give_the_rollouts_of_gymnasiums_sync_vector_env_bit_for_bit(env_id, steps):
    """Terminations (Hopper falls) and the time limit (HalfCheetah's 1,000 steps) included."""
    from gpo.core.vector_env import make_vector_env

    def rollout(envs):
        agent = ActorCritic(
            envs.single_observation_space.shape[0],
            envs.single_action_space.shape[0],
            PolicyConfig(init_log_std=0.5),
            np.random.default_rng(1),
        )
        collector = RolloutCollector(envs, seed=7)
        out = collector.collect(agent, steps, np.random.default_rng(2))
        collector.close()
        return out

    ours = rollout(make_vector_env(env_id, 2))
    theirs = rollout(
        gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id)] * 2, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
    )
    assert (ours.terminated | ours.truncated).any()
    for name in ("obs", "raw_obs", "next_raw_obs", "actions", "rewards", "terminated", "truncated", "values"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name), err_msg=name)
    assert ours.episode_returns == theirs.episode_returns and ours.episode_lengths == theirs.episode_lengths
    if env_id == "HalfCheetah-v5":
        assert ours.truncated.sum() == 2 and not ours.terminated.any()


def _members(env_id: str, k: int, n_envs: int):
    """k different members (own weights, own statistics) with their own collectors."""
    from gpo.core.vector_env import make_vector_env

    agents, collectors = [], []
    for j in range(k):
        envs = make_vector_env(env_id, n_envs)
        agent = ActorCritic(
            envs.single_observation_space.shape[0],
            envs.single_action_space.shape[0],
            PolicyConfig(init_log_std=0.5),
            np.random.default_rng(10 + j),
        )
        agent.obs_normalizer.rms.update(np.random.default_rng(j).standard_normal((5 + j, agent.obs_dim)))
        agents.append(agent)
        collectors.append(RolloutCollector(envs, seed=100 * j))
    return agents, collectors


@pytest.mark.parametrize("n_envs", [1, 3])
def test_members_collected_together_get_exactly_the_rollouts_they_get_alone(n_envs):
    """Batching k policies over the member axis changes no member's numbers (so a GPO run is the
    same for any number of workers): Hopper's terminations included, two rollouts in a row."""
    from gpo.core.rollout import collect_together

    k, steps = 4, 250
    alone_agents, alone = _members("Hopper-v5", k, n_envs)
    expected = [
        [c.collect(a, steps, rng) for _ in range(2)]
        for a, c, rng in zip(alone_agents, alone, [np.random.default_rng(j) for j in range(k)])
    ]
    agents, collectors = _members("Hopper-v5", k, n_envs)
    rngs = [np.random.default_rng(j) for j in range(k)]
    got = [collect_together(collectors, agents, steps, rngs) for _ in range(2)]
    assert any(r.terminated.any() for r in got[0])
    names = ("obs", "raw_obs", "next_raw_obs", "actions", "log_probs", "means", "values", "next_values")
    for j in range(k):
        for step in range(2):
            for name in (*names, "rewards", "terminated", "truncated"):
                np.testing.assert_array_equal(getattr(got[step][j], name), getattr(expected[j][step], name))
            assert got[step][j].episode_returns == expected[j][step].episode_returns
        for key, value in agents[j].obs_normalizer.rms.state_dict().items():
            np.testing.assert_array_equal(value, alone_agents[j].obs_normalizer.rms.state_dict()[key])
    for c in alone + collectors:
        c.close()


def test_members_evaluated_together_get_exactly_their_own_evaluation():
    from gpo.core.evaluation import evaluate, evaluate_together

    agents, collectors = _members("Hopper-v5", 3, 1)
    for c in collectors:
        c.close()
    envs = [gym.make("Hopper-v5") for _ in agents]
    together = evaluate_together(agents, envs, 3, seeds=5)
    for agent, got in zip(agents, together):
        env = gym.make("Hopper-v5")
        assert got == evaluate(agent, env, 3, seed=5)
        env.close()
    assert len({got[1] for got in together}) > 1  # episodes of different lengths were waited for
    for env in envs:
        env.close()


@pytest.mark.parametrize("extra_wrapper", [False, True], ids=["gym.make's wrappers", "another wrapper"])
def test_lockstep_envs_resumed_mid_episode_truncate_at_the_time_limit(extra_wrapper):
    """A checkpoint keeps how far into its episode each env is, whether the time limit is applied
    by LockstepEnvs (gym.make's default wrappers) or by the env's own TimeLimit (any other
    wrapper stack, stepped as it is): resumed at step 30 of a 50-step limit, the episode is
    truncated after 20 more steps, with the uninterrupted env's observations."""
    from gpo.core.vector_env import LockstepEnvs

    def make():
        env = gym.make("HalfCheetah-v5", max_episode_steps=50)  # never terminates
        return gym.wrappers.TransformReward(env, lambda r: r) if extra_wrapper else env

    actions = np.random.default_rng(0).uniform(-1, 1, (50, 2, 6))
    uninterrupted, resumed = LockstepEnvs([make, make]), LockstepEnvs([make, make])
    uninterrupted.reset(seed=3)
    resumed.reset(seed=9)  # another start, overwritten by the checkpoint
    for t in range(30):
        uninterrupted.step(actions[t])
    resumed.load_state_dict(uninterrupted.state_dict())
    assert [s["elapsed_steps"] for s in uninterrupted.state_dict()] == [30, 30]
    for t in range(30, 50):
        expected, got = uninterrupted.step(actions[t]), resumed.step(actions[t])
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[3], [t == 49] * 2)  # truncated at the 50th step only
    uninterrupted.close()
    resumed.close()
