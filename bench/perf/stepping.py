"""``stepping``, ``policy-stepping`` and ``collection``: what one env step costs through each layer
(vector env, env, ``LockstepEnvs``, bare ``mj_step``), under a trained policy, and what collection
adds with the env stubbed out (see ``bench.perf``)."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from bench.perf import (
    env_sps,
    limit_threads,
    random_actions,
)
from gpo.core.policy import PolicyConfig


def stepping(args: argparse.Namespace) -> dict:
    """Steps/s of the same env through each layer, alternating rounds, every layer fed the same
    random actions, drawn beforehand (the physics' cost depends on the actions: zero actions
    step HalfCheetah-v5 measurably cheaper than random ones)."""
    import mujoco

    from gpo.core.vector_env import make_vector_env

    probe = gym.make(args.env)
    drawn = random_actions(probe.action_space, args.env_steps, seed=0)  # env_sps(seed=0)'s actions
    probe.close()

    def vector_sps(envs, n):
        envs.reset(seed=0)
        start = time.perf_counter()
        for action in drawn[:n]:
            envs.step(action[None])
        return n / (time.perf_counter() - start)

    def gymnasium_vector(n):
        mode = gym.vector.AutoresetMode.SAME_STEP
        return vector_sps(gym.vector.SyncVectorEnv([lambda: gym.make(args.env)], autoreset_mode=mode), n)

    def lockstep(n):
        return vector_sps(make_vector_env(args.env, 1), n)

    def unwrapped(n):  # gymnasium's own step of the unwrapped env: LockstepEnvs' before gpo.core.task_step
        env = gym.make(args.env)
        core, limit = env.unwrapped, env.spec.max_episode_steps
        core.reset(seed=0)
        elapsed = 0
        start = time.perf_counter()
        for action in drawn[:n]:
            _, _, terminated, _, _ = core.step(action)
            elapsed += 1
            if terminated or elapsed == limit:
                core.reset()
                elapsed = 0
        rate = n / (time.perf_counter() - start)
        env.close()
        return rate

    def physics(n):
        env = gym.make(args.env)
        env.reset(seed=0)
        core = env.unwrapped
        start = time.perf_counter()
        for action in drawn[:n]:
            core.data.ctrl[:] = action
            mujoco.mj_step(core.model, core.data, nstep=core.frame_skip)
        return n / (time.perf_counter() - start)

    layers = {
        "gymnasium_sync_vector_sps": gymnasium_vector,
        "env_sps": lambda n: env_sps(args.env, n),  # gym.make's env, the same actions
        "env_sampling_sps": lambda n: env_sps(args.env, n, sample_each_step=True),  # and sample() timed
        "unwrapped_sps": unwrapped,
        "lockstep_sps": lockstep,
        "mj_step_sps": physics,
    }
    samples: dict[str, list[float]] = {k: [] for k in layers}
    for _ in range(args.rounds):
        for name, measure in layers.items():
            samples[name].append(measure(args.env_steps))
    result = {k: round(statistics.median(v), 1) for k, v in samples.items()}
    # The best round too: on a machine whose speed jumps between levels every few seconds (the
    # AVX-512 machine of 2026-11-26), a median of a few rounds lands in either level.
    result["best"] = {k: round(max(v), 1) for k, v in samples.items()}
    result.update(env=args.env, steps=args.env_steps, rounds=args.rounds)
    return result


def timed_steps(env: gym.Env, act, steps: int, seed: int) -> tuple[float, float]:
    """Seconds per env step (``step`` and ``reset`` timed, ``act`` not) and the mean episode
    length over ``steps`` steps of ``act(obs)`` in ``env``."""
    obs, _ = env.reset(seed=seed)
    clock, episodes = 0.0, 0
    for _ in range(steps):
        action = act(obs)
        start = time.perf_counter()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1
        clock += time.perf_counter() - start
    return clock / steps, steps / max(episodes, 1)


def policy_stepping(args: argparse.Namespace) -> dict:
    """Env step cost under a trained policy and under random actions, alternating rounds."""
    limit_threads()
    from bench.artifacts.policies import load_policy

    policy = load_policy(Path(args.run))
    env = policy.make_env()
    rng = np.random.default_rng(0)
    low, high = env.action_space.low, env.action_space.high
    acts = {
        "policy": lambda obs: np.clip(policy.act(obs, deterministic=False, rng=rng), low, high),
        "random": lambda obs: rng.uniform(low, high),
    }
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in acts}
    try:
        for r in range(args.rounds):
            for name, act in acts.items():
                samples[name].append(timed_steps(env, act, args.env_steps, seed=r))
    finally:
        env.close()
    result: dict = {"run": args.run, "env": policy.env_id, "steps": args.env_steps, "rounds": args.rounds}
    for name, values in samples.items():
        result[f"{name}_us_per_step"] = round(1e6 * statistics.median(v for v, _ in values), 1)
        result[f"{name}_episode_length"] = round(statistics.median(n for _, n in values), 1)
    result["policy_over_random"] = round(result["policy_us_per_step"] / result["random_us_per_step"], 3)
    return result


class _StubEnvs:
    """A one-env vector env that returns a fixed observation and never ends an episode: stepping
    it costs next to nothing, so collecting with it times what collection adds to the env."""

    num_envs = 1

    def __init__(self, env_id: str):
        env = gym.make(env_id)
        self.single_observation_space, self.single_action_space = env.observation_space, env.action_space
        self.obs, _ = env.reset(seed=0)
        env.close()

    def reset(self, seed: int | None = None):
        return self.obs[None].astype(np.float64), {}

    def step(self, actions):
        return self.obs[None].astype(np.float64), np.full(1, 0.5), np.zeros(1, bool), np.zeros(1, bool), {}


def collection(args: argparse.Namespace) -> dict:
    """Seconds per step of ``collect_together`` for one policy (PPO's collection) with the env
    stubbed out: the normaliser, the forward pass, the noise, clipping and the bookkeeping."""
    from gpo.core.policy import ActorCritic
    from gpo.core.rollout import RolloutCollector

    limit_threads()
    collector = RolloutCollector(_StubEnvs(args.env), seed=0)
    space = collector.envs.single_observation_space
    agent = ActorCritic(
        space.shape[0], collector.envs.single_action_space.shape[0], PolicyConfig(), np.random.default_rng(0)
    )
    rng = np.random.default_rng(1)
    samples = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        collector.collect(agent, args.steps, rng)
        samples.append((time.perf_counter() - start) / args.steps)
    return {
        "env": args.env,
        "steps": args.steps,
        "rounds": args.rounds,
        "microseconds_per_step_best": round(min(samples) * 1e6, 1),
        "microseconds_per_step_median": round(statistics.median(samples) * 1e6, 1),
    }
