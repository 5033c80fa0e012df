"""N copies of one task stepped together in this process, with little more than the physics.

The same transitions as gymnasium's ``SyncVectorEnv`` with SAME_STEP autoreset (an ended episode's
final observation in ``info["final_obs"]``, the reset one in ``obs``), for a fraction of its
per-step cost: SyncVectorEnv deep-copies and stacks every step's info and observations, and
``gym.make`` adds three wrappers. ``python -m bench.perf stepping`` measures each layer side by
side with the same random actions; on HalfCheetah-v5 (2026-11-26, one core) it gave
SyncVectorEnv 5,585 steps/s, ``gym.make``'s env alone 8,990, LockstepEnvs 8,474, bare
``mj_step`` with the frame skip 15,986: the gain is SyncVectorEnv's copying, not the wrappers.

So, when an env's wrappers are only the ones ``gym.make`` adds by default (``TimeLimit``,
``OrderEnforcing``, ``PassiveEnvChecker``), the unwrapped env is stepped and the time limit is
applied here, exactly as ``TimeLimit`` does (truncated once the episode reaches
``max_episode_steps``); resets still go through the wrappers. Any other wrapper stack is stepped
as it is. A test checks that both give bit-identical rollouts. Where the unwrapped env is one of
gymnasium's v5 HalfCheetah, Hopper or Walker2d (or a Hilly variant), its step is
``gpo.core.task_step``'s: gymnasium's arithmetic without its per-step Python, the same bits.

A rollout steps with :meth:`LockstepEnvs.step_into`, which writes observations and rewards into
the rollout's own arrays and reports only the episodes that ended; :meth:`LockstepEnvs.step` is
the gymnasium-shaped form of it. :func:`writing_step` gives the same for gymnasium's own vector envs.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

from gpo.core.task_step import TaskStep, task_step

Array = np.ndarray
DEFAULT_WRAPPERS = (TimeLimit, OrderEnforcing, PassiveEnvChecker)


def _fast_path(env: gym.Env) -> tuple[gym.Env, int | None, TaskStep | None] | None:
    """(the unwrapped env, its time limit, its fast step if it has one) if only gym.make's default
    wrappers surround it."""
    limit, layer = None, env
    while isinstance(layer, gym.Wrapper):
        if not isinstance(layer, DEFAULT_WRAPPERS):
            return None
        if isinstance(layer, TimeLimit):
            limit = layer._max_episode_steps
        layer = layer.env
    return layer, limit, task_step(layer)


class LockstepEnvs:
    """``num_envs`` environments, stepped one after another in this process."""

    def __init__(self, env_fns: list[Callable[[], gym.Env]]):
        self.envs = [fn() for fn in env_fns]
        self.num_envs = len(self.envs)
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self._fast = [_fast_path(env) for env in self.envs]
        self._obs_shape = (self.num_envs, *self.single_observation_space.shape)
        # Steps into each episode, as Python ints: a NumPy element costs ~1 µs a step to bump.
        self.elapsed = [0] * self.num_envs

    def reset(self, seed: int | None = None) -> tuple[Array, dict]:
        """Env i is reset with ``seed + i`` (as gymnasium's vector envs do)."""
        obs = [env.reset(seed=None if seed is None else seed + i)[0] for i, env in enumerate(self.envs)]
        self.elapsed = [0] * self.num_envs
        return np.stack(obs), {}

    def step(self, actions: Array) -> tuple[Array, Array, Array, Array, dict]:
        """One step of every env. As gymnasium's SAME_STEP vector envs do, ``info`` holds
        ``final_obs`` (a list, None for envs still running) only when an episode ended."""
        n = self.num_envs
        obs, rewards = np.empty(self._obs_shape), np.empty(n)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        ended = self.step_into(actions, obs, rewards)
        if not ended:
            return obs, rewards, terminated, truncated, {}
        final_obs: list[Array | None] = [None] * n
        for i, term, trunc, final in ended:
            terminated[i], truncated[i], final_obs[i] = term, trunc, final
        return obs, rewards, terminated, truncated, {"final_obs": final_obs}

    def step_into(self, actions: Array, obs: Array, rewards: Array) -> list[tuple[int, bool, bool, Array]]:
        """:meth:`step` into the caller's arrays: the observations into ``obs`` (N, O), the rewards
        into ``rewards`` (N,). Returns the envs whose episode ended, as (env, terminated,
        truncated, final observation); their row of ``obs`` holds the reset observation.

        Why: a rollout keeps its steps in arrays of its own; :meth:`step`'s four fresh arrays a
        step and their copies into those cost ~2 of the ~50 µs a member's step of collection took
        in lockstep on HalfCheetah (2026-11-27, process-time minimum), too little to show in
        whole GPO runs on a noisy machine (``results/perf/ab-gpo.sh``).
        """
        ended: list[tuple[int, bool, bool, Array]] = []
        for i, env in enumerate(self.envs):
            fast = self._fast[i]
            if fast is None:
                o, r, term, trunc, _ = env.step(actions[i])
            else:
                core, limit, task = fast
                if task is None:
                    o, r, term, trunc, _ = core.step(actions[i])
                else:  # gymnasium's step, its observation written straight into row i (gpo.core.task_step)
                    r, term = task(actions[i], obs[i])
                    o, trunc = None, False
                self.elapsed[i] += 1
                trunc = trunc or (limit is not None and self.elapsed[i] >= limit)
            rewards[i] = r
            if term or trunc:
                ended.append((i, bool(term), bool(trunc), obs[i].copy() if o is None else o))
                o, _ = env.reset()
                self.elapsed[i] = 0
            if o is not None:
                obs[i] = o
        return ended

    # -- checkpointing ---------------------------------------------------------------------------
    def state_dict(self) -> list[dict]:
        """Each env's full state: MuJoCo's integration state, its random generator, and how far
        into its episode it is."""
        return [{**physics_state(env), "elapsed_steps": self._elapsed(i)} for i, env in enumerate(self.envs)]

    def _elapsed(self, i: int) -> int:
        """Steps into env i's episode: counted here on the fast path, by its TimeLimit otherwise."""
        if self._fast[i] is not None:
            return self.elapsed[i]
        limit = _time_limit(self.envs[i])
        return 0 if limit is None else int(limit._elapsed_steps or 0)

    def load_state_dict(self, states: list[dict]) -> None:
        for i, (env, state) in enumerate(zip(self.envs, states, strict=True)):
            load_physics_state(env, state)
            self.elapsed[i] = int(state["elapsed_steps"] or 0)
            limit = _time_limit(env)
            if limit is not None:  # for an env stepped through its wrappers
                limit._elapsed_steps = int(state["elapsed_steps"] or 0)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def writing_step(envs: LockstepEnvs | gym.vector.VectorEnv) -> Callable[[Array, Array, Array], list]:
    """``envs.step_into`` (see :meth:`LockstepEnvs.step_into`), or the same for a gymnasium vector
    env with SAME_STEP autoreset, which puts ended episodes' final observations in ``info``."""
    if isinstance(envs, LockstepEnvs):
        return envs.step_into

    def step_into(actions: Array, obs: Array, rewards: Array) -> list:
        obs[...], rewards[...], terminated, truncated, info = envs.step(actions)
        ended = np.flatnonzero(terminated | truncated)
        return [(i, bool(terminated[i]), bool(truncated[i]), info["final_obs"][i]) for i in ended]

    return step_into


def _time_limit(env: gym.Env) -> TimeLimit | None:
    while env is not None:
        if isinstance(env, TimeLimit):
            return env
        env = getattr(env, "env", None)
    return None


def physics_state(env: gym.Env) -> dict:
    base = env.unwrapped
    if not isinstance(base, MujocoEnv):
        raise TypeError(f"checkpointing needs MuJoCo environments, not {type(base).__name__}")
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    physics = np.empty(mujoco.mj_stateSize(base.model, spec))
    mujoco.mj_getState(base.model, base.data, physics, spec)
    return {"physics": physics, "np_random": base.np_random.bit_generator.state}


def load_physics_state(env: gym.Env, state: dict) -> None:
    base = env.unwrapped
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    mujoco.mj_setState(base.model, base.data, np.asarray(state["physics"]), spec)
    mujoco.mj_forward(base.model, base.data)
    base.np_random.bit_generator.state = state["np_random"]


def make_vector_env(env_id: str, n_envs: int, **env_kwargs) -> LockstepEnvs:
    """N copies of ``env_id`` (``gym.make`` with ``env_kwargs``)."""
    return LockstepEnvs([lambda: gym.make(env_id, **env_kwargs) for _ in range(n_envs)])
