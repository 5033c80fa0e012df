"""``gpo-bench run --executor slurm`` against a real one-node SLURM cluster
(``slurm/start-cluster.sh``; CI starts it). Skipped, with the reason, where no cluster answers."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

from bench.runs import launch as launch_module
from bench.runs.suite import load_suite
from gpo.core import kernels


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
        assert record["kernels"] == kernels.record()  # the SLURM job computed at this process's level
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


TIME_LIMITED = """
algorithms = ["ppo-kl"]
envs = ["Hopper-v5"]
seeds = 1
steps_per_policy = {steps}
"""


def released_when_requeued(process, folder, statuses: list[str], results, suite) -> None:
    """Follow a time-limited job until its launcher ends. SLURM holds a requeued job ~2 minutes
    before it may start again (its BeginTime); the test cluster's root lets it start at once,
    which changes nothing else. While it waits, `gpo-bench status` must say it is requeued."""
    deadline = time.monotonic() + 900
    while process.poll() is None:
        assert time.monotonic() < deadline, "the time-limited run did not finish"
        record = {}
        with contextlib.suppress(FileNotFoundError, ValueError):
            record = json.loads((folder / "run.json").read_text())
        queue = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True).stdout.split()
        if record.get("status") == "requeued" and "PENDING" in queue:
            shown = gpo_bench("status", "--suite", suite, "--results", str(results)).stdout
            statuses.append(shown)
            job = queue[queue.index("PENDING") - 1]
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=False)
        time.sleep(1.0)


@pytest.mark.slow
def test_a_run_stopped_out_of_requeues_then_ended_again_by_time_limits_completes_with_the_same_bits(
    tmp_path,
):
    """A time-limited run, first with no requeue allowed: it stops in one line saying how far it
    got. Launched again, SLURM's time limit ends it at least once more and it completes on its own,
    with the bits of an uninterrupted run (every resume from the checkpoint written at a warning)."""
    # About 210 s of training on an idle 2-core machine. SLURM warns 30 s before the 2-minute limit
    # and up to 60 s earlier (here at its first 30-s check inside 60 s of the limit), so an attempt
    # trains at most ~87 s: at least three attempts whatever the machine's speed.
    steps = 1_310_720
    suite = tmp_path / "limited.toml"
    suite.write_text(TIME_LIMITED.format(steps=steps))
    results = tmp_path / "results"
    command = [sys.executable, "-m", "bench.cli", "run", "--suite", str(suite), "--results", str(results)]
    command += ["--executor", "slurm", "--time-min", "2"]
    # At the default 90-s lead, 2 minutes cannot hold a job's start before SLURM's earliest warning
    # (which would kill it without a result): refused in one line, nothing submitted.
    refused = subprocess.run([*command, "--max-requeues", "0"], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "gpo-bench: error: --time-min 2 is too short: SLURM warns a job 90 s before its limit "
        "(GPO_BENCH_SLURM_SIGNAL_SECONDS), maybe 60 s earlier, and a job takes about 30 s to start; "
        "accepted: --time-min >= 3"
    ]
    assert not results.exists()
    # A lead of 30 s is the longest --time-min 2 accepts. Nothing checkpoints on its own: every
    # resume below comes from the checkpoint written when the warning arrived.
    env = {**os.environ, "GPO_BENCH_SLURM_SIGNAL_SECONDS": "30", "GPO_BENCH_CHECKPOINT_SECONDS": "3600"}
    plain = subprocess.Popen(  # the same run, uninterrupted, on this machine meanwhile
        [sys.executable, "-m", "bench.cli", "train", "--algo", "ppo-kl", "--env", "Hopper-v5"]
        + ["--steps", str(steps), "--seed", "0", "--out", str(tmp_path / "plain")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out = subprocess.run(
        [*command, "--max-requeues", "0"], env=env, capture_output=True, text=True, timeout=480
    )
    assert out.returncode == 1, out.stdout + out.stderr
    # warned before submitting: the cost model says one attempt of 2 minutes cannot hold the run
    assert "--max-requeues 0 allows 1, so runs may stop at the limit" in out.stderr, out.stderr
    stopped = [line for line in out.stdout.splitlines() if "stopped ppo-kl" in line]
    assert len(stopped) == 1 and "the time limit ended all 1 attempts, at " in stopped[0], out.stdout
    assert f"of {steps:,} env steps; `gpo-bench run` resumes it" in stopped[0]
    assert "0 done now, 0 done before, 0 failed, 1 stopped at a time limit" in out.stdout
    folder = results / "limited" / "ppo-kl" / "Hopper-v5" / "seed0"
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "stopped" and 0 < record["env_steps"] < steps
    shown = gpo_bench("status", "--suite", str(suite), "--results", str(results)).stdout
    assert "stopped ppo-kl/Hopper-v5/seed0  SLURM's time limit ended all 1 attempts" in shown

    launcher = subprocess.Popen(
        [*command, "--max-requeues", "30", "--progress-seconds", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    statuses: list[str] = []
    released_when_requeued(launcher, folder, statuses, results, str(suite))
    stdout, stderr = launcher.communicate(timeout=60)
    assert plain.wait(timeout=600) == 0
    assert launcher.returncode == 0 and "1 done now" in stdout, stdout + stderr
    assert "requeued ppo-kl/Hopper-v5/seed0  attempt 2 reached its time limit" in stdout, stdout
    assert "accounting storage is disabled" not in stderr  # sacct's complaint, once per poll before
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "done" and record["attempt"] >= 3
    resumes = record["resumes"]
    assert len(resumes) == record["attempt"] - 1 >= 2 and record["resumed_from"] == ["trainer"]
    # each attempt resumed where the one before was warned (or stopped), from the checkpoint written then
    assert [r["attempt"] for r in resumes] == list(range(2, record["attempt"] + 1))
    assert all(0 < a["env_steps"] < b["env_steps"] for a, b in zip(resumes, resumes[1:]))
    assert any("requeued" in shown and "pending since" in shown for shown in statuses)
    assert not any("failed" in shown for shown in statuses)
    a = pd.read_parquet(folder / "curve.parquet")
    b = pd.read_parquet(tmp_path / "plain" / "curve.parquet")
    keep = [c for c in a.columns if "seconds" not in c]
    assert a[keep].equals(b[keep])  # bit for bit


@pytest.mark.slow
def test_a_gpo_run_given_two_cpus_trains_with_two_workers_and_the_bits_of_one(tmp_path):
    """--cpus-per-task 2: the job's CPUs become member workers (run.json says so), and the run's
    curve, members and rounds equal those of the same run made with one worker."""
    args = ("--suite", "smoke", "--algo", "gpo", "--env", "Hopper-v5")
    out = gpo_bench(
        "run", *args, "--executor", "slurm", "--cpus-per-task", "2", "--results", str(tmp_path / "two")
    )
    assert out.returncode == 0, out.stdout + out.stderr
    one = gpo_bench("run", *args, "--executor", "slurm", "--results", str(tmp_path / "one"))
    assert one.returncode == 0, one.stdout + one.stderr
    folders = {k: tmp_path / k / "smoke" / "gpo" / "Hopper-v5" / "seed0" for k in ("one", "two")}
    records = {k: json.loads((f / "run.json").read_text()) for k, f in folders.items()}
    assert records["two"]["workers"] == 2 and records["one"]["workers"] == 1
    # the job's level, which its member workers checked they share (gpo.core.parallel)
    assert records["two"]["kernels"] == records["one"]["kernels"] == kernels.record()
    for table in ("curve.parquet", "members.parquet", "rounds.parquet", "crossovers.parquet"):
        a, b = (pd.read_parquet(folders[k] / table) for k in ("one", "two"))
        keep = [c for c in a.columns if "seconds" not in c]
        assert a[keep].equals(b[keep]), table
