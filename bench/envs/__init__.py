"""The paper's Hilly tasks, registered in gymnasium under the ``gpo_bench`` namespace.

Importing ``bench`` registers them. Base tasks (flat) are gymnasium's own v5 environments.
"""

import gymnasium as gym

NAMESPACE = "gpo_bench"
HILLY = {
    f"{NAMESPACE}/HalfCheetahHilly-v0": ("HalfCheetahHillyEnv", 1000),
    f"{NAMESPACE}/HopperHilly-v0": ("HopperHillyEnv", 1000),
    f"{NAMESPACE}/Walker2dHilly-v0": ("Walker2dHillyEnv", 1000),
}

for env_id, (cls, steps) in HILLY.items():
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=f"bench.envs.hilly:{cls}", max_episode_steps=steps)
