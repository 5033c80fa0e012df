"""Videos and frame strips of trained policies, rendered offscreen by MuJoCo.

MuJoCo picks its OpenGL backend when it is first imported (``MUJOCO_GL``), so rendering runs in a
child process: ``choose_backend`` tries EGL (GPUs, headless servers) and then OSMesa (software;
Debian's ``libosmesa6``), each in a short probe, and uses the first that renders; a ``MUJOCO_GL``
set by the user is the only one tried. ``python -m bench.artifacts.video`` is that child.

The camera follows the robot's root body (body 1, the torso of every MuJoCo locomotion task) from
the side, the return so far and the step are drawn on each frame, and frames are encoded with
imageio: MP4 through its ffmpeg plugin (imageio-ffmpeg ships its own ffmpeg binary), or an
animated GIF of every second frame (``--gif``; choose a small ``--width``/``--height`` for it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BACKENDS = ("egl", "osmesa")
PROBE = "import mujoco; c = mujoco.GLContext(16, 16); c.make_current(); c.free()"


class RenderError(Exception):
    """Rendering is impossible here, or the child failed; the message is one line."""


def choose_backend() -> str:
    """The first OpenGL backend that can make a context here."""
    wanted = os.environ.get("MUJOCO_GL")
    candidates = (wanted,) if wanted else BACKENDS
    for backend in candidates:
        env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
        probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, timeout=120)
        if probe.returncode == 0:
            return backend
    tried = ", ".join(candidates)
    raise RenderError(
        f"no offscreen OpenGL backend works here (tried MUJOCO_GL={tried}); install EGL drivers, "
        "or OSMesa (Debian: apt-get install libosmesa6)"
    )


def render_in_child(job: dict) -> dict:
    """Run ``job`` (see ``main``) in a child process with a working backend; its JSON answer."""
    backend = choose_backend()
    env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend}
    child = subprocess.run(
        [sys.executable, "-m", "bench.artifacts.video", json.dumps(job)],
        env=env,
        capture_output=True,
        text=True,
    )
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        reason = (child.stderr.strip().splitlines() or ["no output"])[-1]
        raise RenderError(f"rendering failed ({reason})")
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise RenderError(answer["error"])
    return {**answer, "backend": backend}


# -- the child -----------------------------------------------------------------------------------


def _tracking_camera(env):
    """Side view of the robot's root body (body 1), following it: gymnasium's renderer resets
    the camera to a free one at every frame, so the free camera's look-at point is moved to the
    body's subtree centre of mass before each frame. Returns that step."""
    viewer = env.unwrapped.mujoco_renderer._get_viewer("rgb_array")
    data = env.unwrapped.data
    viewer.cam.distance = max(float(viewer.cam.distance), 4.0)
    viewer.cam.elevation = -15.0
    viewer.cam.azimuth = 90.0  # from the side: the robots move along x

    def follow() -> None:
        viewer.cam.lookat[:] = data.subtree_com[1]

    return follow


def _label(frame, text: str):
    import numpy as np
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 8 + 7 * len(text), 22], fill=(0, 0, 0))
    draw.text((5, 5), text, fill=(255, 255, 255))
    return np.asarray(image)


def episode_frames(policy, episodes: int, seed: int, width: int, height: int, max_frames: int | None):
    """Frames of deterministic episodes of ``policy`` with the return drawn on them; and the returns."""
    env = policy.make_env(render_mode="rgb_array", width=width, height=height)
    frames, returns = [], []
    try:
        obs, _ = env.reset(seed=seed)
        env.render()
        follow = _tracking_camera(env)
        for episode in range(episodes):
            left = None if max_frames is None else max_frames - len(frames)
            label = f"{policy.algo} ep {episode + 1} step {{}} return {{:.1f}}"

            def film(step: int, total: float, label: str = label) -> None:
                follow()
                frames.append(_label(env.render(), label.format(step, total)))

            total, _ = policy.episode(env, obs, on_step=film, max_steps=left)
            returns.append(total)
            if max_frames is not None and len(frames) >= max_frames:
                break
            obs, _ = env.reset()
    finally:
        env.close()  # before the process exits, or the renderer's destructor complains
    return frames, returns


def strip_frames(policy, seed: int, width: int, height: int, count: int):
    """``count`` frames evenly spaced over one deterministic episode of ``policy``; its return and
    the steps shown.

    Only the frames shown are rendered: the episode runs unrendered, keeping MuJoCo's state before
    every step (``gpo.core.vector_env.physics_state``, what checkpoints keep), and each picked step's
    state is restored and drawn afterwards.
    Rendering every step of a 1,000-step episode in software (OSMesa) and keeping a handful is
    what made ``gpo-bench plot`` take minutes. The restored state goes through ``mj_forward``, so
    the drawn bodies sit exactly at that step's positions (during an episode MuJoCo's derived
    positions lag one integration step behind ``qpos``).
    """
    import numpy as np

    from gpo.core.vector_env import load_physics_state, physics_state

    env = policy.make_env(render_mode="rgb_array", width=width, height=height)
    try:
        obs, _ = env.reset(seed=seed)
        states, totals = [], []

        def keep(step: int, total: float) -> None:
            states.append(physics_state(env))
            totals.append(total)

        total, length = policy.episode(env, obs, on_step=keep)
        picks = np.linspace(0, length - 1, count).round().astype(int)
        env.render()
        follow = _tracking_camera(env)
        frames = []
        for step in picks:
            load_physics_state(env, states[step])  # mj_setState, then mj_forward
            follow()
            label = f"{policy.algo} ep 1 step {step} return {totals[step]:.1f}"
            frames.append(_label(env.render(), label))
    finally:
        env.close()  # before the process exits, or the renderer's destructor complains
    return np.stack(frames), total, picks.tolist()


def write_video(frames, out: Path, fps: int, gif: bool) -> None:
    import imageio.v2 as imageio

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    try:
        if gif:
            # Every second frame at the rendered size: half the file for the same motion.
            imageio.mimsave(tmp, frames[::2], format="GIF", duration=2000 / fps, loop=0)
        else:
            with imageio.get_writer(
                tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1
            ) as writer:
                for frame in frames:
                    writer.append_data(frame)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Child process: one JSON job in, one JSON line out."""
    parser = argparse.ArgumentParser(prog="python -m bench.artifacts.video")
    parser.add_argument("job")
    job = json.loads(parser.parse_args(argv).job)
    from bench.artifacts.policies import load_policies

    try:
        answers = []
        if job["kind"] == "video":
            policy = load_policies(Path(job["run"]), job["member"])[0]
            seed = policy.eval_seed if job["seed"] is None else job["seed"]
            frames, returns = episode_frames(
                policy, job["episodes"], seed, job["width"], job["height"], job.get("frames")
            )
            write_video(frames, Path(job["out"]), job["fps"], job["gif"])
            answers.append({"frames": len(frames), "returns": returns})
        else:  # a strip: a few frames across one episode of each run's best policy
            import numpy as np

            strips = []
            for run in job["runs"]:
                policy = load_policies(Path(run), "best")[0]
                frames, total, picks = strip_frames(
                    policy, policy.eval_seed, job["width"], job["height"], job["count"]
                )
                strips.append(frames)
                answers.append({"run": run, "return": total, "frames": picks})
            np.save(job["out"], np.stack(strips))
        print(json.dumps({"answers": answers}))
    except Exception as error:  # reported by the parent in one line
        print(json.dumps({"error": f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
