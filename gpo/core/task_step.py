"""gymnasium's v5 locomotion steps (HalfCheetah, Hopper, Walker2d) without their per-step Python.

Why: a gymnasium MuJoCo step is the physics (``mj_step`` with the frame skip, then
``mj_rnePostConstraint``) plus some twenty small NumPy calls and attribute look-ups: the action's
shape check, ``flatten`` and ``concatenate`` for the observation, ``np.clip`` of the velocities,
``state_vector`` and the healthy check (computed twice a step), the reward's ``np.sum``, the info
dict. ``python -m bench.perf stepping`` on the AVX-512 machine (2026-11-26, best of 25
alternating rounds, ``results/perf/stepping-task-step-2026-11-26.json``): LockstepEnvs with this
module's step against gymnasium's own step of the unwrapped env, HalfCheetah-v5 43 against 48 µs
a step (bare ``mj_step`` 37), Hopper-v5 108 against 126 (95), Walker2d-v5 143 against 155 (130).

What: a :class:`TaskStep` does gymnasium's step with the same IEEE operations in the same order
(``x_velocity = (x_after - x_before) / dt``, ``reward = (forward + healthy) - ctrl_cost``, the
control cost's sum of squares in the order ``np.sum`` adds them), writing the
observation into the caller's row instead of a new array, so observations, rewards and
terminations are gymnasium's bit for bit (tests compare long random and clipped-action rollouts,
non-default weights and ranges, and the Hilly tasks, against the env's own ``step``). It leaves
the ``info`` dict out: nothing here reads it.

When: :func:`task_step` returns one only when the env's class steps with gymnasium's own
``step`` and the methods it calls are gymnasium's (a subclass that changes the observation, the
reward or the simulation is stepped as it is), and the env does not render each step. An
overridden ``is_healthy`` (the Hilly tasks measure height above the terrain) is called as it is,
once a step where gymnasium calls it twice: it only reads the state.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

Array = np.ndarray


class TaskStep:
    """HalfCheetah-v5's step: forward reward minus control cost, never terminated."""

    base: type[MujocoEnv] = HalfCheetahEnv
    # Everything gymnasium's step calls; a class overriding any of them is stepped as it is.
    uses: tuple[str, ...] = (
        "step",
        "_get_obs",
        "_get_rew",
        "control_cost",
        "do_simulation",
        "_step_mujoco_simulation",
        "dt",
    )

    def __init__(self, env: MujocoEnv):
        self.model, self.data, self.frame_skip = env.model, env.data, env.frame_skip
        # MjData's arrays are views of buffers that live as long as the env: look them up once.
        self.qpos, self.qvel, self.ctrl = env.data.qpos, env.data.qvel, env.data.ctrl
        self.action_shape = (env.model.nu,)
        self.dt = env.dt
        self.forward_reward_weight = env._forward_reward_weight
        self.ctrl_cost_weight = env._ctrl_cost_weight
        self.first = 1 if env._exclude_current_positions_from_observation else 0
        self.split = env.model.nq - self.first  # where the velocities start in the observation

    def simulate(self, action: Array) -> float:
        """``do_simulation``: the action applied for ``frame_skip`` physics steps; the x-velocity."""
        if action.shape != self.action_shape:
            raise ValueError(f"Action dimension mismatch. Expected {self.action_shape}, found {action.shape}")
        x_before = self.qpos[0]
        self.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        # gymnasium fills the force quantities (cacc, cfrc_*) after every step; so do we.
        mujoco.mj_rnePostConstraint(self.model, self.data)
        return (self.qpos[0] - x_before) / self.dt

    def control_cost(self, action: Array) -> float:
        """``ctrl_cost_weight * np.sum(np.square(action))``. NumPy's sum adds fewer than 8 elements
        one after another (its pairwise summation starts at 8), so for the tasks' 3 or 6 actions
        Python floats added in order give the same bits at a quarter of the cost of two NumPy calls."""
        if self.action_shape[0] < 8:
            total = 0.0
            for a in action.tolist():
                total += a * a
            return self.ctrl_cost_weight * total
        return self.ctrl_cost_weight * np.add.reduce(np.square(action))  # np.sum's own call

    def __call__(self, action: Array, obs: Array) -> tuple[float, bool]:
        """One step: the observation written into ``obs``; (reward, terminated)."""
        x_velocity = self.simulate(action)
        obs[: self.split] = self.qpos[self.first :]
        obs[self.split :] = self.qvel
        return self.forward_reward_weight * x_velocity - self.control_cost(action), False


class HopperStep(TaskStep):
    """Hopper-v5's step: forward reward plus a healthy reward minus control cost, velocities
    clipped to [-10, 10] in the observation, terminated when unhealthy (if configured)."""

    base = HopperEnv
    uses = (*TaskStep.uses, "healthy_reward")

    def __init__(self, env: MujocoEnv):
        super().__init__(env)
        self.healthy_reward = env._healthy_reward
        self.terminate_when_unhealthy = env._terminate_when_unhealthy
        own_check = type(env).is_healthy is self.base.is_healthy
        self.is_healthy = self.healthy_check(env) if own_check else lambda: env.is_healthy

    def healthy_check(self, env: MujocoEnv) -> Callable[[], bool]:
        """Hopper-v5's ``is_healthy``: z and angle within their ranges, and every entry of the state
        but x and z (``state_vector()[2:]``) within the state range."""
        qpos, qvel = self.qpos, self.qvel
        min_state, max_state = env._healthy_state_range
        min_z, max_z = env._healthy_z_range
        min_angle, max_angle = env._healthy_angle_range

        def is_healthy() -> bool:
            return bool(
                min_z < qpos[1] < max_z
                and min_angle < qpos[2] < max_angle
                and _all_between(min_state, qpos[2:], max_state)
                and _all_between(min_state, qvel, max_state)
            )

        return is_healthy

    def __call__(self, action: Array, obs: Array) -> tuple[float, bool]:
        x_velocity = self.simulate(action)
        obs[: self.split] = self.qpos[self.first :]
        velocity = obs[self.split :]  # np.clip(qvel, -10, 10) as two ufuncs, without its wrapper
        np.minimum(np.maximum(self.qvel, -10.0, out=velocity), 10.0, out=velocity)
        healthy = self.is_healthy()
        rewards = self.forward_reward_weight * x_velocity + healthy * self.healthy_reward
        reward = rewards - self.control_cost(action)  # gymnasium's order: (forward + healthy) - cost
        return reward, (not healthy) and self.terminate_when_unhealthy


class Walker2dStep(HopperStep):
    """Walker2d-v5's step: Hopper's, with a healthy check of z and angle only."""

    base = Walker2dEnv

    def healthy_check(self, env: MujocoEnv) -> Callable[[], bool]:
        qpos = self.qpos
        min_z, max_z = env._healthy_z_range
        min_angle, max_angle = env._healthy_angle_range

        def is_healthy() -> bool:
            return bool(min_z < qpos[1] < max_z and min_angle < qpos[2] < max_angle)

        return is_healthy


def _all_between(low: float, x: Array, high: float) -> bool:
    """``np.all(np.logical_and(low < x, x < high))``; False where x is NaN, as there."""
    return bool(np.less(low, x).all() and np.less(x, high).all())


STEPS: tuple[type[TaskStep], ...] = (TaskStep, HopperStep, Walker2dStep)


def task_step(env: gym.Env) -> TaskStep | None:
    """The fast step of an unwrapped env whose class steps as one of :data:`STEPS`' bases, or
    None (step it with its own ``step``)."""
    if not isinstance(env, MujocoEnv) or env.render_mode == "human":
        return None
    cls = type(env)
    for step in STEPS:
        if isinstance(env, step.base) and all(
            getattr(cls, name) is getattr(step.base, name) for name in step.uses
        ):
            return step(env)
    return None
