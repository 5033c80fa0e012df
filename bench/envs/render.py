"""Render each Hilly task on its terrain to a PNG (offscreen, MuJoCo's renderer).

MUJOCO_GL=osmesa python -m bench.envs.render docs/   # needs Debian's libosmesa6
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "osmesa")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import bench  # noqa: E402, F401  (registers the tasks)
from bench.envs import HILLY, unversioned  # noqa: E402

CAMERA = {"distance": 9.0, "elevation": -18.0, "azimuth": 70.0, "lookat": np.array([3.0, 0.0, 0.3])}


def render(env_id: str, path: Path, terrain_seed: int = 0, steps: int = 5) -> None:
    env = gym.make(
        env_id,
        terrain_seed=terrain_seed,
        render_mode="rgb_array",
        width=960,
        height=540,
        default_camera_config=CAMERA,
    )
    env.reset(seed=0)
    for _ in range(steps):  # let the robot settle on the ground
        env.step(np.zeros(env.action_space.shape))
    image = env.render()
    env.close()
    Image.fromarray(image).save(path)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.envs.render OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for env_id in sorted(HILLY):
        name = unversioned(env_id).split("/")[1]  # the picture of the current version
        render(env_id, out / f"{name}.png")
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
