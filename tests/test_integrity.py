"""Results that survive: damaged files are found, named, set aside and rerun; a run has one owner
at a time; Ctrl-C stops local runs without a traceback and they resume; a missing results folder
is an error."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.runs.launch import ELSEWHERE, LaunchReport, collect, execute_run
from bench.runs.lease import LEASE_FILE, RunOwned, claim, live_owner
from bench.runs.suite import load_suite

TINY = """
description = "two quick PPO runs"
algorithms = ["ppo"]
envs = ["InvertedPendulum-v5"]
seeds = 2
steps_per_policy = {steps}
population = 2
rounds = 2
"""


def gpo_bench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env)


def tiny_suite(tmp_path: Path, steps: int = 4096) -> tuple[str, Path]:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(steps=steps))
    return str(path), tmp_path / "results"


def folder(results: Path, seed: int) -> Path:
    return results / "tiny" / "ppo" / "InvertedPendulum-v5" / f"seed{seed}"


def trainings(run_dir: Path) -> int:
    log = run_dir / "claims.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def one_line_no_traceback(text: str) -> None:
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-run study, copied fresh for each test that damages it."""
    base = tmp_path_factory.mktemp("finished")
    suite, results = tiny_suite(base)
    done = gpo_bench("run", "--suite", suite, "--results", str(results), "--runs-at-once", "2")
    assert done.returncode == 0, done.stderr
    return base


@pytest.fixture
def study(finished, tmp_path):
    subprocess.run(["cp", "-r", f"{finished}/.", str(tmp_path)], check=True)
    suite, results = tiny_suite(tmp_path)
    return suite, results


def test_a_finished_run_records_the_checksum_of_every_file_it_wrote(study):
    _, results = study
    record = json.loads((folder(results, 0) / "run.json").read_text())
    assert set(record["files"]) == {"curve.parquet"}
    assert trainings(folder(results, 0)) == 1 and not (folder(results, 0) / LEASE_FILE).exists()


def test_a_truncated_run_json_is_named_left_out_and_rerun_after_moving_it_aside(study):
    suite, results = study
    damaged = folder(results, 0) / "run.json"
    damaged.write_bytes(damaged.read_bytes()[:50])

    status = gpo_bench("status", "--suite", suite, "--results", str(results))
    assert status.returncode == 0 and "Traceback" not in status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith("corrupt") and str(damaged) in lines[0] and lines[1].startswith("done")

    for command in ("aggregate", "plot"):
        result = gpo_bench(command, "--suite", suite, "--results", str(results))
        assert result.returncode == 2 and str(damaged) in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    final = pd.read_parquet(results / "tiny" / "tables" / "final.parquet")
    assert set(final["seeds"]) == {1} and set(final["seeds_asked"]) == {2}  # the intact run alone

    rerun = gpo_bench("run", "--suite", suite, "--results", str(results))
    assert rerun.returncode == 0 and "Traceback" not in rerun.stderr
    assert "damaged" in rerun.stdout and "moved to seed0.corrupt-" in rerun.stdout
    aside = list(folder(results, 0).parent.glob("seed0.corrupt-*"))
    assert len(aside) == 1 and len((aside[0] / "run.json").read_bytes()) == 50  # kept as found
    assert json.loads(damaged.read_text())["status"] == "done" and trainings(folder(results, 1)) == 1


def test_a_garbage_curve_is_corrupt_not_done_and_the_run_is_rerun(study):
    suite, results = study
    curve = folder(results, 1) / "curve.parquet"
    curve.write_bytes(b"this is not parquet" * 10)

    status = gpo_bench("status", "--suite", suite, "--results", str(results))
    line = status.stdout.splitlines()[1]
    assert line.startswith("corrupt") and "curve.parquet" in line and "checksum" in line

    rerun = gpo_bench("run", "--suite", suite, "--results", str(results))
    assert rerun.returncode == 0 and "1 done now, 1 done before" in rerun.stdout
    assert pd.read_parquet(curve)["env_steps"].iloc[-1] == 4096
    assert list(folder(results, 1).parent.glob("seed1.corrupt-*"))


@pytest.mark.parametrize("command", ["status", "aggregate", "plot"])
def test_a_results_folder_that_does_not_exist_is_one_line_and_exit_2(tmp_path, command):
    suite, _ = tiny_suite(tmp_path)
    result = gpo_bench(command, "--suite", suite, "--results", str(tmp_path / "no" / "such"))
    assert result.returncode == 2 and "no results folder" in result.stderr
    one_line_no_traceback(result.stderr)


def test_a_live_lease_refuses_a_second_claim_and_a_dead_ones_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    with claim(run_dir) as lease:
        assert live_owner(run_dir).pid == os.getpid() and lease.held()
        with pytest.raises(RunOwned, match=f"pid {os.getpid()}"):
            claim(run_dir)
    assert not (run_dir / LEASE_FILE).exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    (run_dir / LEASE_FILE).write_text(
        json.dumps({"host": os.uname().nodename, "pid": dead.pid, "job_id": None, "token": "t"})
    )
    assert live_owner(run_dir) is None
    with claim(run_dir) as lease:
        assert lease.held() and live_owner(run_dir).pid == os.getpid()


@pytest.mark.slow
def test_two_concurrent_runs_train_every_run_exactly_once(tmp_path):
    suite, results = tiny_suite(tmp_path, steps=16384)
    command = [sys.executable, "-m", "bench.cli", "run", "--suite", suite, "--results", str(results)]
    launchers = [
        subprocess.Popen(
            [*command, "--runs-at-once", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [launcher.communicate(timeout=600) for launcher in launchers]
    for launcher, (_out, err) in zip(launchers, outputs):
        assert launcher.returncode == 0 and "Traceback" not in err, err
    for seed in (0, 1):
        assert trainings(folder(results, seed)) == 1
        assert json.loads((folder(results, seed) / "run.json").read_text())["status"] == "done"
    said = "".join(out for out, _ in outputs)
    assert said.count("done    ppo/") + said.count("owned   ppo/") == 4  # each run, by each launcher
    # "done now" counts what a launcher's own jobs trained: 2 runs, once each, over both launchers
    assert sum(int(n) for n in re.findall(r"(\d+) done now", said)) == 2, said


def test_a_job_that_finds_its_run_finished_by_another_launcher_says_so(tmp_path):
    """A launcher's job that starts after another launcher finished its run trains nothing and
    is counted as done by another launcher, never as done now."""
    suite, results = tiny_suite(tmp_path)
    first = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--suite", suite, "--results", str(results)],
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0 and "2 done now" in first.stdout, first.stderr
    run = load_suite(suite).runs()[0]
    answer = execute_run(run, results)  # what a second launcher's job does after the first finished
    assert answer == ELSEWHERE + run.name and trainings(folder(results, 0)) == 1

    class Finished:
        def done(self):
            return True

        def result(self):
            return answer

    report, events = LaunchReport(), []
    collect(run, Finished(), results, report, lambda *event: events.append(event))
    assert report.done == [] and report.elsewhere == [run] and events[0][2] == "by another launcher"


def two_at_a_time(suite: str, results: Path) -> list[str]:
    """`gpo-bench run` of ``suite`` with two runs at once, as a process's argument list."""
    return [
        sys.executable,
        "-m",
        "bench.cli",
        "run",
        "--suite",
        suite,
        "--results",
        str(results),
        "--runs-at-once",
        "2",
    ]


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def launched_until_both_checkpoint(suite: str, results: Path, env: dict, signum: int) -> subprocess.Popen:
    """`gpo-bench run` of a two-run suite, two at a time, in its own process group (as a terminal's
    foreground job), once both runs have checkpointed. ``signum`` gets its default action in it:
    a suite started in the background (`pytest &`) passes SIGINT on ignored, and the launcher would
    rightly keep ignoring it."""
    launcher = subprocess.Popen(
        two_at_a_time(suite, results),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 180
    while not all(list(folder(results, s).glob("checkpoint-*.pt")) for s in (0, 1)):
        assert time.monotonic() < deadline and launcher.poll() is None
        time.sleep(0.1)
    return launcher


@pytest.mark.slow
def test_ctrl_c_stops_the_local_runs_without_a_traceback_and_they_resume(tmp_path):
    suite, results = tiny_suite(tmp_path, steps=61440)
    env = {**os.environ, "GPO_BENCH_CHECKPOINT_SECONDS": "0"}
    launcher = launched_until_both_checkpoint(suite, results, env, signal.SIGINT)
    os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    out, err = launcher.communicate(timeout=60)
    assert launcher.returncode == 130
    one_line_no_traceback(err)
    assert "stopped 2 runs" in err and "resumes them from their checkpoints" in err
    time.sleep(0.5)
    assert processes_mentioning(str(results)) == []  # no job left behind
    assert all(
        json.loads((folder(results, s) / "run.json").read_text())["status"] == "running" for s in (0, 1)
    )
    logs = "".join(p.read_text() for p in (results / "tiny" / "_logs").glob("*/*.err"))
    assert "KeyboardInterrupt" not in logs

    again = gpo_bench("run", "--suite", suite, "--results", str(results), "--runs-at-once", "2", env=env)
    assert again.returncode == 0 and "2 done now" in again.stdout, again.stderr
    for seed in (0, 1):
        record = json.loads((folder(results, seed) / "run.json").read_text())
        assert record["status"] == "done" and record["resumed_from"] and record["attempt"] == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum,whom,code",
    [
        (signal.SIGTERM, "launcher", 143),  # kill, timeout: the launcher's process alone
        (signal.SIGHUP, "group", 129),  # a closed terminal or ssh connection: its whole process group
    ],
)
def test_sigterm_and_sighup_stop_the_local_runs_as_ctrl_c_does(tmp_path, signum, whom, code):
    suite, results = tiny_suite(tmp_path, steps=61440)
    env = {**os.environ, "GPO_BENCH_CHECKPOINT_SECONDS": "0"}
    launcher = launched_until_both_checkpoint(suite, results, env, signum)
    if whom == "group":
        os.killpg(launcher.pid, signum)
    else:
        os.kill(launcher.pid, signum)
    out, err = launcher.communicate(timeout=60)
    assert launcher.returncode == code, err
    one_line_no_traceback(err)
    name = signal.Signals(signum).name
    assert f"interrupted by {name}: stopped 2 runs" in err and "resumes them from their checkpoints" in err
    time.sleep(0.5)
    assert processes_mentioning(str(results)) == []  # no run left training


@pytest.mark.slow
def test_ctrl_c_with_live_bars_prints_its_message_after_the_bars_are_closed(tmp_path):
    """On a terminal `run` draws live bars; Ctrl-C's one line comes after them, not inside."""
    import pty

    suite, results = tiny_suite(tmp_path, steps=61440)
    leader, follower = pty.openpty()
    launcher = subprocess.Popen(
        two_at_a_time(suite, results),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "GPO_BENCH_CHECKPOINT_SECONDS": "0", "COLUMNS": "160", "TERM": "xterm"},
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(follower)
    screen = bytearray()

    def read_for(seconds: float) -> None:
        import select

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the launcher has exited and closed the terminal
                    return
                if not chunk:
                    return
                screen.extend(chunk)

    deadline = time.monotonic() + 180
    while not all(list(folder(results, s).glob("checkpoint-*.pt")) for s in (0, 1)):
        assert time.monotonic() < deadline and launcher.poll() is None
        read_for(0.2)
    read_for(1.0)
    os.killpg(launcher.pid, signal.SIGINT)
    while launcher.poll() is None:
        read_for(0.5)
    read_for(0.5)
    os.close(leader)
    text = screen.decode(errors="replace")
    assert launcher.returncode == 130 and "steps/s" in text  # bars were drawn
    message = text.rindex("interrupted: stopped 2 runs")
    assert "steps/s" not in text[message:], text[message:]  # no bar redrawn after the message
