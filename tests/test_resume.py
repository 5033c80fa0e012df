"""Checkpoints: a run interrupted at any point and started again finishes with exactly the curve
of an uninterrupted run (kill -9 included); checkpoints load with weights_only=True."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from bench.runs.checkpoint import TorchCheckpointer
from gpo.core.ppo import PPOConfig
from gpo.core.trainer import TrainConfig, Trainer
from gpo.gpo import GPO

sys.path.insert(0, os.path.dirname(__file__))
from test_gpo import bits, comparable, tiny  # noqa: E402


def without_time(curve):
    """Every number of the curve but wall time, bit for bit (NaN-safe)."""
    return bits([{k: v for k, v in row.items() if "seconds" not in k} for row in curve])


def test_trainer_resumes_mid_episode_bit_for_bit_through_a_checkpoint_file(tmp_path):
    config = TrainConfig(
        "HalfCheetah-v5", 5120, seed=3, learner=PPOConfig(n_steps=512), eval_every_steps=1536, eval_episodes=1
    )
    uninterrupted = Trainer(config)
    expected = uninterrupted.run()
    uninterrupted.close()

    first = Trainer(config)
    for _ in range(3):  # 1,536 steps: the middle of a 1,000-step episode
        first.step()
    saver = TorchCheckpointer(tmp_path, "fp", every_seconds=0.0)
    saver.load("trainer")
    saver.offer("trainer", first.state_dict)
    first.close()

    second = Trainer(config)
    curve = second.run(TorchCheckpointer(tmp_path, "fp"))
    second.close()
    assert without_time(curve) == without_time(expected)
    assert (tmp_path / "checkpoint-trainer.pt").exists()


def test_gpo_resumes_from_a_round_boundary_bit_for_bit(tmp_path):
    expected = comparable(GPO(tiny()).run())
    saver = TorchCheckpointer(tmp_path, "fp", every_seconds=0.0)
    interrupted = GPO(tiny())
    from gpo.core.parallel import TaskPool

    interrupted.run_round(TaskPool(1))
    saver.load("gpo")
    saver.offer("gpo", interrupted.state_dict)
    resumed = GPO(tiny()).run(TorchCheckpointer(tmp_path, "fp"))
    assert comparable(resumed) == expected


def test_a_truncated_checkpoint_is_moved_aside_and_the_run_resumes_from_the_previous_one(tmp_path, capsys):
    from gpo.core.parallel import TaskPool

    expected = comparable(GPO(tiny()).run())
    saver = TorchCheckpointer(tmp_path, "fp", every_seconds=0.0)
    interrupted = GPO(tiny())
    saver.load("gpo")
    for _ in range(2):  # two round boundaries: the second checkpoint replaces the first
        interrupted.run_round(TaskPool(1))
        saver.offer("gpo", interrupted.state_dict)
    current, previous = tmp_path / "checkpoint-gpo.pt", tmp_path / "checkpoint-gpo.prev.pt"
    assert previous.exists() and previous.read_bytes() != current.read_bytes()
    current.write_bytes(current.read_bytes()[:200])  # cut off, as by a full disk or a dying node

    checkpointer = TorchCheckpointer(tmp_path, "fp")
    resumed = GPO(tiny()).run(checkpointer)
    assert comparable(resumed) == expected
    assert checkpointer.resumed == ["gpo (previous)"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint-gpo.pt cannot be loaded" in err[0]
    assert list(tmp_path.glob("checkpoint-gpo.pt.unreadable-*"))  # kept, not deleted


def test_with_no_loadable_checkpoint_the_run_starts_afresh(tmp_path, capsys):
    (tmp_path / "checkpoint-gpo.pt").write_bytes(b"PK\x03\x04 not a whole zip")
    checkpointer = TorchCheckpointer(tmp_path, "fp")
    assert comparable(GPO(tiny()).run(checkpointer)) == comparable(GPO(tiny()).run())
    assert checkpointer.resumed == [] and "cannot be loaded" in capsys.readouterr().err


def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path):
    saver = TorchCheckpointer(tmp_path, "config A", every_seconds=0.0)
    saver.load("trainer")
    saver.offer("trainer", lambda: {"x": np.arange(3)})
    assert TorchCheckpointer(tmp_path, "config A").load("trainer")["x"].tolist() == [0, 1, 2]
    assert TorchCheckpointer(tmp_path, "config B").load("trainer") is None


ARGS = {
    "ppo": ["--algo", "ppo", "--env", "HalfCheetah-v5", "--steps", "20480"],
    "single": ["--algo", "single", "--env", "HalfCheetah-v5", "--steps", "20480", "--population", "2"],
    "gpo": [
        "--algo",
        "gpo",
        "--env",
        "InvertedPendulum-v5",
        "--steps",
        "30720",
        "--population",
        "2",
        "--rounds",
        "4",
    ],
}


def train_command(out, algo):
    return [sys.executable, "-m", "bench.cli", "train", *ARGS[algo], "--seed", "1", "--out", str(out)]


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "single", "gpo"])
def test_kill_9_then_rerun_gives_the_uninterrupted_curve(tmp_path, algo):
    env = {**os.environ, "GPO_BENCH_CHECKPOINT_SECONDS": "0"}  # checkpoint at every chance
    reference = tmp_path / "reference"
    subprocess.run(train_command(reference, algo), env=env, check=True, capture_output=True)

    out = tmp_path / "killed"
    process = subprocess.Popen(
        train_command(out, algo), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list(out.glob("checkpoint-*.pt")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere after a checkpoint, possibly during the next write
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert json.loads((out / "run.json").read_text())["status"] == "running"  # died mid-run
    assert not (out / "curve.parquet").exists()

    subprocess.run(train_command(out, algo), env=env, check=True, capture_output=True)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "done" and run["attempt"] == 2 and run["resumed_from"]
    for table in ("curve.parquet", *(["members.parquet"] if algo != "ppo" else [])):
        got, want = pd.read_parquet(out / table), pd.read_parquet(reference / table)
        got, want = (t.drop(columns=[c for c in t.columns if "seconds" in c]) for t in (got, want))
        pd.testing.assert_frame_equal(got, want)
