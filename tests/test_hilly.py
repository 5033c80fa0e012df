"""The Hilly tasks: valid gymnasium envs, seeded terrain, MuJoCo's ground = the generated field."""

import warnings
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import bench.envs.hilly  # registers the Hilly tasks
from bench.envs import HILLY
from bench.envs.terrain import RESOLUTION, SAMPLES, StartPatch, coordinates, generate, patch_mask

IDS = sorted(HILLY)
FLAT = {
    "gpo_bench/HalfCheetahHilly-v1": "HalfCheetah-v5",
    "gpo_bench/HopperHilly-v1": "Hopper-v5",
    "gpo_bench/Walker2dHilly-v1": "Walker2d-v5",
}


def rollout(env_id: str, actions: np.ndarray, **kwargs) -> tuple[float, np.ndarray]:
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=0)
    total, observations = 0.0, [obs]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        total += reward
        observations.append(obs)
        if terminated or truncated:
            break
    env.close()
    return total, np.array(observations)


def gait(env_id: str, steps: int = 300) -> np.ndarray:
    """A fixed open-loop gait: a sine wave per joint, phase-shifted along the body."""
    dim = gym.make(env_id).action_space.shape[0]
    t = np.arange(steps)[:, None]
    return 0.8 * np.sin(0.5 * t + np.arange(dim)[None, :])


@pytest.mark.parametrize("env_id", IDS)
def test_passes_gymnasiums_env_checker(env_id):
    env = gym.make(env_id, terrain_seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_course_and_rollout_other_seed_other_course(env_id):
    make = lambda seed: gym.make(env_id, terrain_seed=seed).unwrapped  # noqa: E731
    a, b, c = make(4), make(4), make(5)
    np.testing.assert_array_equal(a.field, b.field)
    np.testing.assert_array_equal(a.model.hfield_data, b.model.hfield_data)
    assert np.abs(a.field - c.field).max() > 0.1
    actions = gait(env_id, 100)
    first, second = rollout(env_id, actions, terrain_seed=4), rollout(env_id, actions, terrain_seed=4)
    assert first[0] == second[0] and np.array_equal(first[1], second[1])


@pytest.mark.parametrize("difficulty", [1.0, 0.3, 0.01])
def test_maximum_elevation_is_the_difficulty_and_the_start_patch_is_flat(difficulty):
    env = gym.make("gpo_bench/HopperHilly-v1", terrain_seed=2, difficulty=difficulty).unwrapped
    expected = max(difficulty, 0.05)  # rllab's floor on difficulty
    assert env.field.max() == pytest.approx(expected, rel=1e-12)
    assert not env.field[patch_mask(env.patch)].any()
    # The robot's feet start on level ground: the course is 0 under its whole body.
    xs = [env.data.geom_xpos[g][0] for g in range(env.model.ngeom) if env.model.geom_bodyid[g] != 0]
    assert all(env.ground_height(x) == 0.0 for x in xs)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_mujoco_ground_is_the_generated_field(env_id):
    env = gym.make(env_id, terrain_seed=7).unwrapped
    env.reset(seed=0)
    # Away from the robot (a ray there would hit it; the start patch has its own test).
    # The course reaches 40 m each way, as rllab's models' height-field radius of 40 makes it.
    for x in np.concatenate([np.linspace(-39.5, -4.0, 16), np.linspace(4.0, 39.5, 16)]):
        geom = np.zeros(1, np.int32)
        distance = mujoco.mj_ray(
            env.model, env.data, np.array([x, 0.0, 5.0]), np.array([0.0, 0.0, -1.0]), None, 1, -1, geom
        )
        assert env.model.geom(geom[0]).name == "terrain"
        # MuJoCo keeps height fields in float32.
        assert 5.0 - distance == pytest.approx(env.ground_height(x), abs=1e-6)
    assert env.field.max() - np.median(env.field) > 0.3  # real hills, not a flat floor
    env.close()


def placed_on_course_return(env_id: str, flatten: bool, steps: int = 60) -> float:
    """A fixed policy's return when the robot starts on a slope of the course (at its usual
    height above the ground there), on the hills or on the same height field flattened."""
    env = gym.make(env_id, terrain_seed=0).unwrapped
    env.reset(seed=0)
    row = env.field[SAMPLES // 2]  # the robots' line, y = 0
    xs = coordinates()
    slope = np.gradient(row, RESOLUTION)
    x = float(xs[(xs > 3) & (xs < 15)][np.argmax(np.abs(slope[(xs > 3) & (xs < 15)]))])
    if flatten:
        env.model.hfield_data[:] = 0.0
        env.field[:] = 0.0
    qpos = env.init_qpos.copy()
    qpos[0] += x  # rootx
    qpos[1] += env.ground_height(x)  # rootz: the usual height above the ground under it
    env.set_state(qpos, env.init_qvel)
    total = 0.0
    for action in gait(env_id, steps):
        _, reward, terminated, _, _ = env.step(action)
        total += reward
        if terminated:
            break
    env.close()
    return total


@pytest.mark.parametrize("env_id", IDS)
def test_the_hills_change_a_fixed_policys_return(env_id):
    # Against the same height field flattened, so the difference is the hills' and not merely
    # that of height-field contacts (which differ from the plane's even on level ground).
    hills, flat = placed_on_course_return(env_id, False), placed_on_course_return(env_id, True)
    assert abs(hills - flat) > 0.05 * max(1.0, abs(flat)), (hills, flat)


def test_a_fixed_policy_scores_differently_than_on_the_flat_task():
    actions = gait("gpo_bench/HalfCheetahHilly-v1", 200)
    flat, _ = rollout("HalfCheetah-v5", actions)
    hilly, _ = rollout("gpo_bench/HalfCheetahHilly-v1", actions, terrain_seed=0)
    assert hilly != flat


def test_healthy_height_is_measured_above_the_ground_under_the_torso():
    env = gym.make("gpo_bench/Walker2dHilly-v1", terrain_seed=3).unwrapped
    env.reset(seed=0)
    x_peak = float(coordinates()[np.argmax(env.field[SAMPLES // 2])])  # the highest point on its line
    ground = env.ground_height(x_peak)
    qpos = env.init_qpos.copy()
    qpos[0] = x_peak  # rootx: the walker stands on the hill
    qpos[1] = env.init_qpos[1] + ground  # rootz: its usual height above that ground
    env.set_state(qpos, env.init_qvel)
    assert ground > 0.5 and env.data.body("torso").xpos[2] > 2.0  # v5's z < 2.0 would fail it
    assert env.torso_height_above_ground() == pytest.approx(1.25, abs=0.01)
    assert env.is_healthy
    env.close()


def test_bad_terrain_arguments_are_rejected():
    with pytest.raises(ValueError, match="terrain_seed must be >= 0"):
        gym.make("gpo_bench/HopperHilly-v1", terrain_seed=-1)


def test_generation_is_a_pure_function_of_seed_and_difficulty():
    patch = StartPatch(-2.0, 0.5)
    np.testing.assert_array_equal(generate(11, 0.7, patch), generate(11, 0.7, patch))
    np.testing.assert_allclose(generate(11, 0.7, patch) / 0.7, generate(11, 1.4, patch) / 1.4)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("env_id", IDS)
def test_slopes_on_the_robots_line_are_rllabs_as_simulated(env_id, seed):
    # Each task's own course: the same hills, its own start patch (Hopper's and Walker2d's are
    # shorter than HalfCheetah's). rllab's generate_hills on its 40-m grid, stretched to the 80 m
    # its models' height-field radius of 40 gives, has along y = 0 (seeds 0-2 of its own code,
    # measured once): median slope 0.12-0.14, 90th percentile 0.26-0.28, steepest 0.40-0.45,
    # relief 0.80-0.90 of the difficulty. Version 0 of this terrain had a 90th percentile of
    # 0.86-1.10 and slopes up to 1.35-3.66 there.
    patch = getattr(bench.envs.hilly, HILLY[env_id][0]).patch
    row = generate(seed, 1.0, patch)[SAMPLES // 2]
    slopes = np.abs(np.diff(row)) / RESOLUTION
    assert 0.08 < np.median(slopes) < 0.18
    assert 0.18 < np.percentile(slopes, 90) < 0.36
    assert slopes.max() < 0.6  # rllab's steepest, or its start patch's ramp
    assert 0.7 < row.max() - row.min() <= 1.0


def test_mujocos_settotalmass_warning_is_silenced_for_gymnasiums_half_cheetah_only(capsys, tmp_path):
    gym.make("HalfCheetah-v5").close()
    gym.make("gpo_bench/HalfCheetahHilly-v1").close()
    assert "settotalmass" not in capsys.readouterr().err
    import gymnasium.envs.mujoco as assets

    copy = tmp_path / "my_cheetah.xml"  # the same warning from another file still shows
    copy.write_text((Path(assets.__file__).parent / "assets" / "half_cheetah.xml").read_text())
    mujoco.MjModel.from_xml_path(str(copy))
    assert capsys.readouterr().err.count("WARNING: compiler attribute 'settotalmass' is deprecated") == 1
