"""Trained policies: saved by every run, loaded without pickle, evaluated, exported to torch,
filmed; errors are one line and exit 2."""

import json
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import torch

from bench.artifacts.policies import POLICIES_FILE, evaluate_policy, load_policies, load_policy

SUITE = """
description = "every family, tiny"
algorithms = ["gpo", "single", "joint", "ppo", "a2c"]
envs = ["InvertedPendulum-v5"]
seeds = 1
steps_per_policy = 12288
population = 2
rounds = 2
"""
MEMBERS = {"gpo": 2, "single": 2, "joint": 1, "ppo": 1, "a2c": 1}


def gpo_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    base = tmp_path_factory.mktemp("policies")
    suite = base / "fam.toml"
    suite.write_text(SUITE)
    results = base / "results"
    done = gpo_bench("run", "--suite", str(suite), "--results", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    return suite, results


def run_dir(results, algo):
    return results / "fam" / algo / "InvertedPendulum-v5" / "seed0"


def own_final_eval(folder, algo: str) -> float:
    """The run's own final evaluation of the policy marked best."""
    if MEMBERS[algo] > 1:
        return float(pd.read_parquet(folder / "members.parquet")["eval_return"].max())
    return float(pd.read_parquet(folder / "curve.parquet")["eval_return"].dropna().iloc[-1])


@pytest.mark.parametrize("algo", list(MEMBERS))
def test_every_family_saves_its_final_policies_and_they_act_as_the_run_evaluated_them(study, algo):
    _, results = study
    folder = run_dir(results, algo)
    record = json.loads((folder / "run.json").read_text())
    assert POLICIES_FILE in record["local_files"]  # checksummed, kept out of git (*.pt)
    torch.load(folder / POLICIES_FILE, weights_only=True)  # no pickled code needed

    policies = load_policies(folder, "all")
    assert len(policies) == MEMBERS[algo] and sum(p.is_best for p in policies) == 1
    best = load_policy(folder)
    assert best.is_best and best.env_id == "InvertedPendulum-v5" and best.algo == algo
    returns, lengths = evaluate_policy(best, best.eval_episodes, best.eval_seed)
    assert np.mean(returns) == own_final_eval(folder, algo)  # bit for bit: same policy, same starts
    assert len(lengths) == best.eval_episodes

    env = best.make_env()
    obs, _ = env.reset(seed=3)
    env.close()
    action = best.act(obs)
    assert action.shape == (1,) and np.array_equal(action, best.agent.mean_action(obs[None])[0])
    noisy = best.act(obs, deterministic=False, rng=np.random.default_rng(0))
    assert not np.array_equal(noisy, action)


def test_the_torch_module_acts_as_the_numpy_policy(study):
    _, results = study
    policy = load_policy(run_dir(results, "gpo"))
    module = policy.to_torch()
    assert isinstance(module, torch.nn.Module)
    obs = np.random.default_rng(0).standard_normal((64, 4)) * 5.0  # some beyond the clipping range
    with torch.no_grad():
        ours = module(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(ours, policy.act(obs), atol=1e-6, rtol=0)


def test_evaluate_prints_each_members_returns_reproducing_the_runs_evaluation(study):
    _, results = study
    folder = run_dir(results, "single")
    result = gpo_bench("evaluate", "--run", str(folder), "--member", "all")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 0") or line.startswith("| 1")]
    assert len(rows) == 2 and sum("(best)" in row for row in rows) == 1
    finals = pd.read_parquet(folder / "members.parquet")["eval_return"].tolist()
    for row, final in zip(rows, finals):
        assert row.split("|")[4].strip().startswith(f"{final:.1f} ± ")


def test_a_video_has_the_requested_frames_and_size(study, tmp_path):
    _, results = study
    out = tmp_path / "gpo.mp4"
    result = gpo_bench(
        "video", "--run", str(run_dir(results, "gpo")), "--out", str(out), "--frames", "12",
        "--width", "160", "--height", "120",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "note:" not in result.stderr  # made and filmed at the same (pinned) kernels
    frames = iio.imread(out)
    assert frames.shape == (12, 120, 160, 3) and frames.std() > 0
    gif = tmp_path / "gpo.gif"
    assert (
        gpo_bench(
            "video", "--run", str(run_dir(results, "ppo")), "--out", str(gif), "--gif", "--frames", "8"
        ).returncode
        == 0
    )
    assert iio.imread(gif).shape == (4, 480, 480, 3)  # every second frame, at the rendered size


def test_plot_draws_a_frame_strip_of_each_algorithms_best_policy(study):
    suite, results = study
    result = gpo_bench("plot", "--suite", str(suite), "--results", str(results))
    assert result.returncode == 0, result.stderr
    assert (results / "fam" / "figures" / "frames-InvertedPendulum-v5.png").exists()


def test_a_strip_shows_evenly_spaced_steps_of_the_evaluation_episode(study, tmp_path):
    from bench.artifacts.video import render_in_child

    _, results = study
    folders = [run_dir(results, algo) for algo in ("ppo", "gpo")]
    job = {"kind": "strip", "runs": [str(f) for f in folders], "count": 5, "width": 64, "height": 48}
    answer = render_in_child({**job, "out": str(tmp_path / "strips.npy")})
    strips = np.load(tmp_path / "strips.npy")
    assert strips.shape == (2, 5, 48, 64, 3)
    for folder, shown in zip(folders, answer["answers"]):
        best = load_policy(folder)
        returns, lengths = evaluate_policy(best, 1, best.eval_seed)  # the same deterministic episode
        assert shown["return"] == returns[0]
        assert shown["frames"] == np.linspace(0, lengths[0] - 1, 5).round().astype(int).tolist()


@pytest.mark.parametrize("command", ["evaluate", "video"])
def test_bad_run_missing_policies_and_unwritable_out_are_one_line_exit_2(study, tmp_path, command):
    _, results = study
    out = ["--out", str(tmp_path / "v.mp4")] if command == "video" else []
    cases = [(["--run", str(tmp_path / "nope")], "no such run folder")]
    bare = tmp_path / "bare"
    bare.mkdir()
    cases.append((["--run", str(bare)], f"has no {POLICIES_FILE}"))
    if command == "video":
        cases.append(
            (["--run", str(run_dir(results, "ppo")), "--out", "/proc/nope/v.mp4"], "--out: cannot write")
        )
    for args, message in cases:
        result = gpo_bench(command, *args, *(out if "--out" not in args else []))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_missing_policies_file_is_not_damage_but_a_changed_one_is(study, tmp_path):
    import shutil

    from bench.runs.results import CorruptRun, done_record

    _, results = study
    copy = tmp_path / "run"
    shutil.copytree(run_dir(results, "ppo"), copy)
    assert done_record(copy) is not None
    (copy / POLICIES_FILE).unlink()  # as in a fresh clone: *.pt is git-ignored
    assert done_record(copy) is not None
    (copy / POLICIES_FILE).write_bytes(b"not the policies it wrote")
    with pytest.raises(CorruptRun, match="checksum differs"):
        done_record(copy)
