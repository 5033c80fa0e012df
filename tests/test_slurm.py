"""``gpo-bench run --executor slurm`` against a real one-node SLURM cluster
(``slurm/start-cluster.sh``; CI starts it). Skipped, with the reason, where no cluster answers."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from bench.runs import launch as launch_module
from bench.runs.suite import load_suite


def cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return out.returncode == 0 and any(s in out.stdout for s in ("idle", "mix", "alloc"))


pytestmark = pytest.mark.skipif(
    not cluster_up(), reason="no SLURM cluster answers here (run slurm/start-cluster.sh)"
)


def gpo_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)


def test_smoke_suite_runs_as_one_job_array_through_slurm(tmp_path):
    result = gpo_bench(
        "run", "--suite", "smoke", "--executor", "slurm", "--results", str(tmp_path), "--time-min", "10"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    job_ids = []
    for run in load_suite("smoke").runs():
        record = json.loads((run.folder(tmp_path) / "run.json").read_text())
        assert record["status"] == "done"
        job_ids.append(record["job_id"])
    arrays = {job_id.split("_")[0] for job_id in job_ids}
    assert len(arrays) == 1  # one array ...
    assert sorted(int(job_id.split("_")[1]) for job_id in job_ids) == [0, 1, 2, 3]  # ... a task each
    again = gpo_bench("run", "--suite", "smoke", "--executor", "slurm", "--results", str(tmp_path))
    assert again.returncode == 0 and "0 done now, 4 done before" in again.stdout


def test_more_runs_than_max_array_size_are_split_into_several_arrays(tmp_path, monkeypatch):
    monkeypatch.setattr(launch_module, "max_array_size", lambda: 3)
    runs = (
        load_suite("smoke")
        .narrowed(algorithms=["single"], envs=["InvertedPendulum-v5"], seeds=4, steps_per_policy=1024)
        .runs()
    )
    report = launch_module.launch(
        runs, tmp_path, executor="slurm", slurm=launch_module.SlurmOptions(time_min=10)
    )
    assert len(report.done) == 4 and not report.failed
    ids = [json.loads((r.folder(tmp_path) / "run.json").read_text())["job_id"] for r in runs]
    submissions = {i.split("_")[0] for i in ids}
    assert len(submissions) == 2  # an array of 3, then the last run (a one-task submission)
    assert sorted(i.split("_")[1] for i in ids if "_" in i)[:3] == ["0", "1", "2"]


@pytest.mark.slow
def test_a_cancelled_array_task_is_the_only_run_launched_again_and_it_resumes(tmp_path):
    env = {**os.environ, "GPO_BENCH_CHECKPOINT_SECONDS": "0"}
    command = [
        sys.executable,
        "-m",
        "bench.cli",
        "run",
        "--suite",
        "smoke",
        "--executor",
        "slurm",
        "--results",
        str(tmp_path),
        "--env",
        "Hopper-v5",  # GPO and Single: one array task to cancel, one that must not run again
        "--steps",
        "40960",
        "--time-min",
        "10",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    suite = load_suite("smoke").narrowed(envs=["Hopper-v5"], steps_per_policy=40960)
    target = next(r for r in suite.runs() if r.algo == "gpo" and r.env == "Hopper-v5")
    folder = target.folder(tmp_path)
    deadline = time.monotonic() + 240
    while not (folder / "checkpoint-gpo.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    job_id = json.loads((folder / "run.json").read_text())["job_id"]
    subprocess.run(["scancel", job_id], check=True)  # that array task only
    stdout, _ = process.communicate(timeout=600)
    assert process.returncode == 1, stdout  # some runs failed
    assert "1 done now, 0 done before, 1 failed" in stdout
    assert json.loads((folder / "run.json").read_text())["status"] != "done"

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 done now, 1 done before, 0 failed" in again.stdout
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "done" and record["resumed_from"] == ["gpo"] and record["attempt"] == 2


@pytest.mark.slow
def test_a_second_launch_while_an_array_runs_skips_the_runs_it_owns_and_nothing_trains_twice(tmp_path):
    command = [
        *("run", "--suite", "smoke", "--executor", "slurm", "--results", str(tmp_path)),
        *("--env", "Hopper-v5", "--steps", "40960", "--time-min", "10"),  # two runs: GPO and Single
    ]
    first = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = load_suite("smoke").narrowed(envs=["Hopper-v5"], steps_per_policy=40960).runs()
    deadline = time.monotonic() + 240
    while not any((r.folder(tmp_path) / "lease.json").exists() for r in runs):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.2)
    second = gpo_bench(*command)  # a user resubmitting while the array runs
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, stdout + stderr + second.stdout + second.stderr
    assert "owned   " in second.stdout and "another launcher runs it" in second.stdout
    for run in runs:
        folder = run.folder(tmp_path)
        assert json.loads((folder / "run.json").read_text())["status"] == "done"
        assert len((folder / "claims.log").read_text().splitlines()) == 1  # trained exactly once
