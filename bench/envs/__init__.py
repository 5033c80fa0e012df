"""The paper's Hilly tasks, registered in gymnasium under the ``gpo_bench`` namespace.

Importing ``bench`` registers them. Base tasks (flat) are gymnasium's own v5 environments. It
also silences MuJoCo's deprecation warning for gymnasium's ``half_cheetah.xml``
(``bench.envs.mujoco_warnings``).
"""

import re

import gymnasium as gym

from bench.envs import mujoco_warnings

NAMESPACE = "gpo_bench"
HILLY = {
    f"{NAMESPACE}/HalfCheetahHilly-v1": ("HalfCheetahHillyEnv", 1000),
    f"{NAMESPACE}/HopperHilly-v1": ("HopperHillyEnv", 1000),
    f"{NAMESPACE}/Walker2dHilly-v1": ("Walker2dHillyEnv", 1000),
}

# The paper's nine tasks (its Tables 1 and 2 name them so), as gymnasium ids.
PAPER_TASKS = {
    "Walker2d": "Walker2d-v5",
    "HalfCheetah": "HalfCheetah-v5",
    "HalfCheetah-Hilly": f"{NAMESPACE}/HalfCheetahHilly-v1",
    "Hopper-Hilly": f"{NAMESPACE}/HopperHilly-v1",
    "InvertedDoublePendulum": "InvertedDoublePendulum-v5",
    "Ant": "Ant-v5",
    "Walker2d-Hilly": f"{NAMESPACE}/Walker2dHilly-v1",
    "Swimmer": "Swimmer-v5",
    "Hopper": "Hopper-v5",
}


def unversioned(env_id: str) -> str:
    """``env_id`` without its ``-vN`` suffix (``gpo_bench/HopperHilly-v1`` → ``gpo_bench/HopperHilly``)."""
    return re.sub(r"-v\d+$", "", env_id)


def retired_version_error(env_id: str) -> str | None:
    """For an id not registered here whose task is, under other versions (a retired
    ``gpo_bench/*Hilly-v0``), the one-line reason naming those versions; None otherwise. The CLI's
    ``--env`` check and the suite loader's ``envs`` check prefix it with their field."""
    task = unversioned(env_id)
    versions = sorted(k for k in gym.registry if k != env_id and unversioned(k) == task)
    if not versions:
        return None
    return f"{env_id!r} is not a version registered here; accepted: {', '.join(versions)}"


def env_kwargs_for(env_id: str, seed: int) -> dict:
    """Constructor arguments a run of ``env_id`` with ``seed`` needs: a Hilly task's course is
    generated from the run's seed, so a fixed seed gives a fixed course."""
    return {"terrain_seed": seed} if env_id in HILLY else {}


mujoco_warnings.install()

for env_id, (cls, steps) in HILLY.items():
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=f"bench.envs.hilly:{cls}", max_episode_steps=steps)
