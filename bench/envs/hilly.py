"""HalfCheetahHilly, HopperHilly and Walker2dHilly: gymnasium's v5 robots on rllab's hilly terrain.

Each is the v5 environment with its model compiled from the v5 XML plus a MuJoCo height field
(``bench.envs.terrain``), generated from ``terrain_seed`` and ``difficulty`` (constructor
arguments; the harness passes the run's seed, so a fixed seed gives a fixed course). Nothing is
written to disk. Observations, rewards and termination are the v5 ones, with two changes the
terrain forces:
- Hopper and Walker2d's healthy-height check measures the torso's height above the ground under
  it, not above z = 0 (on a 1 m hill a healthy Walker2d's torso is above v5's z < 2.0 bound).
- The course is 80 m × 80 m centred on the start, as rllab's models make it (``bench.envs.terrain``
  says why not 40); beyond it the original flat floor (lowered 1 mm under the course, so the two
  never touch the robot at once) carries on, because a good HalfCheetah runs past 40 m within
  gymnasium's 1000-step episodes.

MuJoCo collides bodies with a height field through its triangular prisms (several contacts per
foot where a plane gives one), so even on the flat start patch a trajectory is not bit-for-bit the
flat task's; what carries over is the robot, its observations, rewards and termination.

Version 1 (``*Hilly-v1``) replaced version 0's terrain, whose hills were several times steeper than
rllab's (``bench.envs.terrain``); version 0 is gone, so a v0 run cannot be resumed or repeated.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import mujoco
import numpy as np
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv
from gymnasium.envs.mujoco.hopper_v5 import HopperEnv
from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv

from bench.envs import terrain
from bench.envs.terrain import StartPatch

DEFAULT_DIFFICULTY = 1.0


def hilly_xml(xml_path: str, difficulty: float) -> str:
    """The robot's XML with a height field covering the course and the floor lowered beneath."""
    tree = ET.parse(xml_path)
    root = tree.getroot()
    asset = root.find("asset")
    ET.SubElement(
        asset,
        "hfield",
        {
            "name": "terrain",
            "nrow": str(terrain.SAMPLES),
            "ncol": str(terrain.SAMPLES),
            # radius x, radius y, max elevation, depth of the base below z = 0
            "size": f"{terrain.HALF_SIZE} {terrain.HALF_SIZE} {difficulty} 0.5",
        },
    )
    worldbody = root.find("worldbody")
    floor = worldbody.find("geom[@name='floor']")
    floor.set("pos", "0 0 -0.001")
    ground = {k: v for k, v in floor.attrib.items() if k not in ("name", "size", "type", "pos")}
    ET.SubElement(
        worldbody,
        "geom",
        {**ground, "name": "terrain", "type": "hfield", "hfield": "terrain", "pos": "0 0 0"},
    )
    return ET.tostring(root, encoding="unicode")


class HillyMixin:
    """Builds the model with the terrain; ``ground_height`` is the height under a point."""

    patch: StartPatch

    def _setup_terrain(self, terrain_seed: int, difficulty: float) -> None:
        if int(terrain_seed) < 0:
            raise ValueError(f"terrain_seed must be >= 0, got {terrain_seed}")
        self.terrain_seed = int(terrain_seed)
        self.difficulty = max(float(difficulty), terrain.MIN_DIFFICULTY)
        self.field = terrain.generate(self.terrain_seed, self.difficulty, self.patch)

    def _initialize_simulation(self):
        model = mujoco.MjModel.from_xml_string(hilly_xml(self.fullpath, self.difficulty))
        model.hfield_data[:] = (self.field / self.difficulty).ravel()  # MuJoCo wants [0, 1]
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
        return model, mujoco.MjData(model)

    def ground_height(self, x: float) -> float:
        return terrain.height_at(self.field, x)

    def torso_height_above_ground(self) -> float:
        x, _, z = self.data.body("torso").xpos
        return float(z - self.ground_height(x))


class HalfCheetahHillyEnv(HillyMixin, HalfCheetahEnv):
    patch = StartPatch(-3.0, 1.0)  # rllab: about [-3, 0]; extended to cover the front leg

    def __init__(self, terrain_seed: int = 0, difficulty: float = DEFAULT_DIFFICULTY, **kwargs):
        self._setup_terrain(terrain_seed, difficulty)
        super().__init__(**kwargs)


class _HealthyAboveGround:
    """v5's healthy check with the torso's height measured above the ground under it."""

    @property
    def is_healthy(self) -> bool:
        z = self.torso_height_above_ground()
        angle = self.data.qpos[2]
        state = self.state_vector()[2:]
        min_state, max_state = self._healthy_state_range
        min_z, max_z = self._healthy_z_range
        min_angle, max_angle = self._healthy_angle_range
        return bool(
            np.all((min_state < state) & (state < max_state))
            and min_z < z < max_z
            and min_angle < angle < max_angle
        )


class HopperHillyEnv(HillyMixin, _HealthyAboveGround, HopperEnv):
    patch = StartPatch(-2.0, 0.5)  # rllab: about [-2, -0.5]; extended to cover the foot

    def __init__(self, terrain_seed: int = 0, difficulty: float = DEFAULT_DIFFICULTY, **kwargs):
        self._setup_terrain(terrain_seed, difficulty)
        super().__init__(**kwargs)


class Walker2dHillyEnv(HillyMixin, _HealthyAboveGround, Walker2dEnv):
    patch = StartPatch(-2.0, 0.5)

    def __init__(self, terrain_seed: int = 0, difficulty: float = DEFAULT_DIFFICULTY, **kwargs):
        self._setup_terrain(terrain_seed, difficulty)
        super().__init__(**kwargs)

    @property
    def is_healthy(self) -> bool:
        # Walker2d v5 checks height and angle only (no state range).
        z = self.torso_height_above_ground()
        angle = self.data.qpos[2]
        min_z, max_z = self._healthy_z_range
        min_angle, max_angle = self._healthy_angle_range
        return bool(min_z < z < max_z and min_angle < angle < max_angle)
