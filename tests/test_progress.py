"""Progress: heartbeat files, progress lines, status with percent/ETA/stalled, TensorBoard events."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from bench.cli import default_workers
from bench.runs.progress import PROGRESS_FILE, read_progress
from bench.runs.runner import run_one

sys.path.insert(0, os.path.dirname(__file__))
from test_integrity import gpo_bench  # noqa: E402

TINY = """
description = "one PPO run"
algorithms = ["ppo"]
envs = ["InvertedPendulum-v5"]
seeds = 1
steps_per_policy = {steps}
population = 2
rounds = 2
"""


def fast_heartbeat(monkeypatch, seconds: float = 0.05) -> None:
    monkeypatch.setenv("GPO_BENCH_HEARTBEAT_SECONDS", str(seconds))


@pytest.mark.parametrize(
    "algo,options",
    [
        ("gpo", {"population": 2, "rounds": 2, "workers": 1}),
        ("single", {"population": 2, "rounds": 1, "workers": 2}),  # members in worker processes
    ],
)
def test_the_heartbeat_step_count_is_monotone_and_reaches_the_budget(tmp_path, monkeypatch, algo, options):
    fast_heartbeat(monkeypatch)
    beats = []
    steps = 12288 if algo == "gpo" else 4096
    run_one(algo, "InvertedPendulum-v5", steps, 0, tmp_path / "run", listeners=(beats.append,), **options)
    counts = [beat["env_steps"] for beat in beats]
    budget = options["population"] * steps
    assert all(b["budget"] == budget for b in beats) and counts[-1] == budget
    assert counts == sorted(counts) and len(set(counts)) >= 2
    final = json.loads((tmp_path / "run" / PROGRESS_FILE).read_text())
    assert final["env_steps"] == budget and final["pid"] == os.getpid()


def test_train_prints_progress_lines_when_stdout_is_not_a_terminal(tmp_path):
    env = {**os.environ, "GPO_BENCH_HEARTBEAT_SECONDS": "0.1"}
    args = ["train", "--algo", "ppo", "--steps", "30720", "--out", str(tmp_path / "run")]
    result = gpo_bench(*args, "--progress-seconds", "0.1", env=env)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("progress [")]
    assert len(lines) >= 2, result.stdout
    assert all("ppo/InvertedPendulum-v5/seed0" in line and "steps/s, ETA" in line for line in lines)
    percents = [int(line.split("] ")[1].split()[1].rstrip("%")) for line in lines]
    assert percents == sorted(percents) and percents[-1] == 100
    done = result.stdout.strip().splitlines()[-1]
    assert done.startswith("done: ") and done.split("eval return ")[1].count(".") == 1
    assert len(done.split("eval return ")[1].split(".")[1]) == 1  # one decimal


def test_status_shows_a_running_runs_percent_and_eta(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY.format(steps=200_000))
    results = tmp_path / "results"
    env = {**os.environ, "GPO_BENCH_HEARTBEAT_SECONDS": "0.2"}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "run", "--suite", str(suite), "--results", str(results)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    folder = results / "tiny" / "ppo" / "InvertedPendulum-v5" / "seed0"
    try:
        deadline = time.monotonic() + 120
        while (read_progress(folder) or {}).get("env_steps", 0) < 4096:
            assert time.monotonic() < deadline and launcher.poll() is None
            time.sleep(0.2)
        time.sleep(1.0)  # a few heartbeats, for a rate
        status = gpo_bench("status", "--suite", str(suite), "--results", str(results))
    finally:
        os.killpg(launcher.pid, 2)
        launcher.wait(timeout=60)
    line, summary = status.stdout.splitlines()
    assert line.startswith("running ppo/InvertedPendulum-v5/seed0") and "% " in line and "ETA " in line
    assert "heartbeat" in line and "steps/s" in line
    assert summary.startswith("1 runs: 1 running; suite ETA ")


def test_a_stale_heartbeat_shows_stalled(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY.format(steps=200_000))
    folder = tmp_path / "results" / "tiny" / "ppo" / "InvertedPendulum-v5" / "seed0"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"status": "running", "start": "then"}))
    beat = {"env_steps": 50_000, "budget": 200_000, "steps_per_second": 900.0, "time": time.time() - 900}
    (folder / PROGRESS_FILE).write_text(json.dumps(beat))
    status = gpo_bench("status", "--suite", str(suite), "--results", str(tmp_path / "results"))
    line = status.stdout.splitlines()[0]
    assert line.startswith("stalled ") and "heartbeat 15m0" in line and "its process is gone" in line
    beat["time"] = time.time()
    (folder / PROGRESS_FILE).write_text(json.dumps(beat))
    line = gpo_bench("status", "--suite", str(suite), "--results", str(tmp_path / "results")).stdout
    assert line.startswith("running ") and "25% 50,000/200,000 steps" in line


def test_tensorboard_events_round_trip_with_the_curve(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    result = gpo_bench("train", "--algo", "ppo", "--steps", "8192", "--out", str(out), "--tensorboard")
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    curve = pd.read_parquet(out / "curve.parquet")
    tags = set(events.Tags()["scalars"])
    numeric = [c for c in curve.columns if c != "env_steps" and pd.api.types.is_numeric_dtype(curve[c])]
    assert {f"curve/{c}" for c in numeric if curve[c].notna().any()} <= tags and "live/train_return" in tags
    for column in numeric:
        kept = curve[curve[column].notna()]
        if kept.empty:
            continue
        scalars = events.Scalars(f"curve/{column}")
        assert [s.step for s in scalars] == kept["env_steps"].tolist()
        np.testing.assert_array_equal(
            np.array([s.value for s in scalars], dtype=np.float32), kept[column].to_numpy(np.float32)
        )


def test_local_workers_default_to_the_usable_cores_capped_by_the_runs():
    cores = len(os.sched_getaffinity(0))
    assert default_workers(1000) == cores and default_workers(1) == 1


def test_after_a_resume_rate_and_eta_count_only_this_attempts_steps(tmp_path, monkeypatch):
    from bench.runs.progress import Heartbeat
    from gpo.core.progress import emit, emit_restored, reporting

    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    beat = Heartbeat(tmp_path, budget=1_500_000, every=3600)
    with reporting(beat):
        beat.snapshot()  # the attempt's start, before the checkpoint is loaded
        clock[0] += 2.0
        emit_restored(735_000)  # earlier attempts' steps
        clock[0] += 10.0
        emit(20_000)
        snap = beat.snapshot()
    assert snap["env_steps"] == 755_000 and beat.restored_steps == 735_000
    assert snap["steps_per_second"] == pytest.approx(2_000.0)  # 20,000 new steps in 10 s, not 75,500/s


def test_status_counts_a_requeued_runs_checkpointed_steps_as_done(tmp_path):
    """A run requeued at a SLURM time limit resumes from the steps it reached: the summary's
    steps left are the rest of its budget, not all of it."""
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY.format(steps=1_200_000))
    results = tmp_path / "results"
    folder = results / "tiny" / "ppo" / "InvertedPendulum-v5" / "seed0"
    folder.mkdir(parents=True)
    record = {"status": "requeued", "attempt": 1, "env_steps": 403_412, "job_id": "7_0",
              "requeued": "2026-12-08T01:00:00+00:00"}  # fmt: skip
    (folder / "run.json").write_text(json.dumps(record))
    status = gpo_bench("status", "--suite", str(suite), "--results", str(results))
    line, summary = status.stdout.splitlines()
    assert line.startswith("requeued ppo/InvertedPendulum-v5/seed0") and "403,412 of 1,200,000" in line
    assert summary == "1 runs: 1 requeued; 796,588 env steps left, none running"


def report_then_wait(steps: int, seconds: float) -> float:
    """A member worker's task: report its steps, keep working, return when it ended."""
    from gpo.core.progress import emit

    emit(steps, train_return=1.0)
    time.sleep(seconds)
    return time.time()


def test_member_workers_report_their_progress_while_they_work():
    from gpo.core.parallel import TaskPool
    from gpo.core.progress import reporting

    seen: list[tuple[float, int]] = []
    pool = TaskPool(2)
    try:
        with reporting(lambda steps, train, evaluation: seen.append((time.time(), steps))):
            ends = pool.map(report_then_wait, [(100, 2.0), (50, 2.0), (25, 0.0)])
    finally:
        pool.close()
    assert sorted(steps for _, steps in seen) == [25, 50, 100]  # every report, once, before map returns
    first_two = sorted(t for t, steps in seen if steps in (50, 100))
    assert first_two[-1] < min(ends[:2]) - 1.0  # they arrived while their tasks were still working


def test_a_gpo_run_with_two_member_workers_shows_progress_during_its_phase(tmp_path):
    """One round, so the whole run is one mutation phase across 2 workers: its progress lines
    must move before the phase ends, and reach the budget exactly."""
    env = {**os.environ, "GPO_BENCH_HEARTBEAT_SECONDS": "0.2"}
    args = ["train", "--algo", "gpo", "--steps", "40960", "--population", "2", "--rounds", "1"]
    args += ["--workers", "2", "--out", str(tmp_path / "run"), "--progress-seconds", "0.5"]
    result = gpo_bench(*args, env=env)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("progress [")]
    percents = [int(line.split("] ")[1].split()[1].rstrip("%")) for line in lines]
    assert any(0 < p < 100 for p in percents), result.stdout  # before the only phase's end
    assert percents == sorted(percents) and percents[-1] == 100
    assert "81,920/81,920 steps" in lines[-1]
