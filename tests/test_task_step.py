"""gpo.core.task_step: gymnasium's v5 locomotion steps without their per-step Python give gymnasium's
observations, rewards and terminations bit for bit, and are used only where they apply."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

import bench.envs  # noqa: F401  (registers the Hilly tasks)
from gpo.core.task_step import HopperStep, TaskStep, Walker2dStep, task_step

CASES = [
    ("HalfCheetah-v5", {}, TaskStep),
    (
        "HalfCheetah-v5",
        dict(exclude_current_positions_from_observation=False, ctrl_cost_weight=0.3),
        TaskStep,
    ),
    ("Hopper-v5", {}, HopperStep),
    (
        "Hopper-v5",
        dict(
            terminate_when_unhealthy=False,  # keeps stepping unhealthy states: the healthy reward's 0
            exclude_current_positions_from_observation=False,
            healthy_state_range=(-20.0, 20.0),
            healthy_reward=0.5,
            forward_reward_weight=2.0,
        ),
        HopperStep,
    ),
    ("Walker2d-v5", {}, Walker2dStep),
    ("Walker2d-v5", dict(healthy_z_range=(0.9, 2.1), healthy_angle_range=(-0.5, 0.5)), Walker2dStep),
    ("gpo_bench/HalfCheetahHilly-v1", {}, TaskStep),
    ("gpo_bench/HopperHilly-v1", {}, HopperStep),  # their own is_healthy, called as it is
    ("gpo_bench/Walker2dHilly-v1", {}, Walker2dStep),
]


def bits(x) -> bytes:
    return np.float64(x).tobytes()


@pytest.mark.parametrize("env_id,kwargs,kind", CASES, ids=[f"{c[0]}{'-custom' * bool(c[1])}" for c in CASES])
def test_task_step_is_gymnasiums_step_bit_for_bit(env_id, kwargs, kind):
    """2,000 steps of random actions beyond the action bounds (MuJoCo clamps the controls, the
    control cost sees them unclamped), both envs reset with a new seed whenever gymnasium's
    terminates and every 400 steps."""
    theirs, ours = gym.make(env_id, **kwargs).unwrapped, gym.make(env_id, **kwargs).unwrapped
    step = task_step(ours)
    assert type(step) is kind
    rng = np.random.default_rng(0)
    obs = np.empty(ours.observation_space.shape)
    seed = 1
    theirs.reset(seed=seed)
    ours.reset(seed=seed)
    ends = 0
    for t in range(2000):
        action = rng.uniform(-1.3, 1.3, ours.action_space.shape)
        expected, reward, terminated, truncated, _ = theirs.step(action)
        got_reward, got_terminated = step(action, obs)
        assert obs.tobytes() == expected.tobytes(), t
        assert bits(got_reward) == bits(reward), t
        assert got_terminated is bool(terminated) and not truncated, t
        if terminated or t % 400 == 399:
            ends += terminated
            seed += 1
            theirs.reset(seed=seed)
            ours.reset(seed=seed)
    if kind is not TaskStep and kwargs.get("terminate_when_unhealthy", True):
        assert ends > 5  # unhealthy states were reached and ended episodes
    theirs.close()
    ours.close()


class OwnObservation(HopperEnv):
    def _get_obs(self):
        return super()._get_obs() * 2


class OwnStep(HopperEnv):
    def step(self, action):
        return super().step(np.zeros_like(action))


@pytest.mark.parametrize("cls", [OwnObservation, OwnStep])
def test_a_class_changing_what_the_step_calls_is_stepped_as_it_is(cls):
    from gpo.core.vector_env import LockstepEnvs

    assert task_step(cls()) is None
    envs = LockstepEnvs([cls])
    obs, _ = envs.reset(seed=0)
    action = np.full((1, 3), 0.5)
    reference = cls()
    reference.reset(seed=0)
    np.testing.assert_array_equal(envs.step(action)[0][0], reference.step(action[0])[0])
    envs.close()
    reference.close()


def test_a_wrong_action_shape_is_refused_as_gymnasium_refuses_it():
    env = gym.make("Walker2d-v5").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Action dimension mismatch"):
        task_step(env)(np.zeros(5), np.empty(17))
    env.close()


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5"])
def test_the_control_cost_is_gymnasiums_bit_for_bit_at_any_magnitude(env_id):
    """The control cost adds the squares as Python floats in NumPy's order (fewer than 8 actions);
    mixed magnitudes make any other order of the additions round differently."""
    env = gym.make(env_id, ctrl_cost_weight=0.37).unwrapped
    step = task_step(env)
    rng = np.random.default_rng(3)
    n = env.action_space.shape[0]
    for _ in range(5000):
        action = rng.uniform(-1.5, 1.5, n) * 10.0 ** rng.integers(-8, 9, n)
        assert bits(step.control_cost(action)) == bits(env.control_cost(action))
    assert bits(step.control_cost(np.full(n, -0.0))) == bits(env.control_cost(np.full(n, -0.0)))
    step.action_shape = (12,)  # 8 or more: NumPy sums pairwise, and so does the fallback
    for _ in range(200):
        action = rng.uniform(-1.5, 1.5, 12) * 10.0 ** rng.integers(-8, 9, 12)
        assert bits(step.control_cost(action)) == bits(0.37 * np.sum(np.square(action)))
    env.close()
