"""``gpo-bench train`` end to end, its errors, and atomic result files."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from bench.runs.results import atomic_write, is_done, write_json


def gpo_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--algo", "foo"], "--algo: unknown algorithm 'foo'; accepted: gpo,"),
        (["--env", "Nope-v5"], "--env: unknown environment 'Nope-v5'"),
        (["--env", "Nope-v5"], "Walker2d-v5, gpo_bench/HalfCheetahHilly-v1"),
        (
            ["--env", "gpo_bench/HopperHilly-v0"],  # retired: v1's terrain replaced it
            "--env: 'gpo_bench/HopperHilly-v0' is not a version registered here; accepted: "
            "gpo_bench/HopperHilly-v1",
        ),
        (["--steps", "-3"], "--steps must be a positive"),
        (["--steps", "abc"], "Invalid value for '--steps'"),
        (["--population", "0"], "--population must be >= 1"),
        (["--algo", "gpo", "--steps", "5000"], "leave -51320 for mutation"),
        (["--algo", "gpo", "--steps", "5000"], "the smallest budget these settings accept is 56332"),
        (
            ["--algo", "ppo", "--env", "CartPole-v1"],
            "CartPole-v1 has a Discrete() action space; gpo-bench trains",
        ),
        (["--algo", "ppo", "--env", "CarRacing-v3"], "CarRacing-v3"),
        (
            ["--algo", "gpo", "--population", "1000000000", "--steps", "100000"],
            "1,000,000,000 policies in one run",
        ),
        (
            ["--algo", "ppo", "--env", "Hopper-v5", "--steps", str(10**14)],
            "more than the 8,760 (a core-year)",
        ),
        (["--algo", "a2c-sb3", "--steps", "1002"], "multiple of n_envs (4)"),
        (["--training-dtype", "float16"], "--training-dtype: expected float64 or float32, got 'float16'"),
        (
            ["--algo", "a2c", "--learner", "learning_rate=-1"],
            "--learner learning_rate: learning_rate must be > 0",
        ),
        (
            ["--algo", "a2c", "--learner", "kl_target=0.01"],
            "--learner kl_target: not a setting of a2c's learner",
        ),
        (["--learner", "learning_rate"], "--learner: expected FIELD=VALUE with a TOML value"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    out = tmp_path / "run"
    result = gpo_bench("train", "--out", str(out), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpo-bench: error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()  # nothing half-written


def test_unknown_command_is_one_line():
    result = gpo_bench("trian")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "train" in result.stderr


def test_train_writes_a_finished_run_and_a_rerun_leaves_it_alone(tmp_path):
    out = tmp_path / "gpo"
    args = [
        "train",
        "--algo",
        "gpo",
        "--env",
        "InvertedPendulum-v5",
        "--steps",
        "12288",
        "--population",
        "2",
        "--rounds",
        "2",
        "--out",
        str(out),
    ]
    first = gpo_bench(*args, "--learner", "learning_rate=3e-4", "--learner", "n_epochs=4")
    assert first.returncode == 0, first.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "done" and run["family"] == "gpo" and run["versions"]["numpy"]
    # the learner settings reach the run's learner, as a suite's [learner] table's do
    assert (run["config"]["learner"]["learning_rate"], run["config"]["learner"]["n_epochs"]) == (3e-4, 4)
    assert isinstance(run["cpu"]["model"], str) and "SSE2" in run["cpu"]["simd"]  # what rounding depends on
    curve = pd.read_parquet(out / "curve.parquet")
    assert curve["env_steps"].iloc[-1] == 2 * 12288
    assert len(pd.read_parquet(out / "crossovers.parquet")) == 2
    assert is_done(out)

    stamp = (out / "curve.parquet").stat().st_mtime_ns
    again = gpo_bench(*args, "--learner", "learning_rate=3e-4", "--learner", "n_epochs=4")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert (out / "curve.parquet").stat().st_mtime_ns == stamp
    forced = gpo_bench(*args, "--learner", "learning_rate=3e-4", "--learner", "n_epochs=4", "--force")
    assert forced.returncode == 0 and (out / "curve.parquet").stat().st_mtime_ns != stamp
    rerun = pd.read_parquet(out / "curve.parquet")  # same seed, same numbers (but wall time)
    times = [c for c in curve.columns if "seconds" in c]
    pd.testing.assert_frame_equal(rerun.drop(columns=times), curve.drop(columns=times))


def test_a_crash_during_a_write_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"status": "done"})

    def crash(tmp):
        tmp.write_text('{"status": "runn')  # half a file, then the process dies
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert json.loads(path.read_text()) == {"status": "done"}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left behind


def test_envs_lists_the_papers_nine_tasks_hilly_ones_included():
    result = gpo_bench("envs")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 9
    assert any("gpo_bench/HopperHilly-v1" in line for line in lines)


def test_a_hilly_run_gets_its_course_from_the_runs_seed(tmp_path):
    out = tmp_path / "hilly"
    result = gpo_bench(
        "train",
        "--algo",
        "ppo",
        "--env",
        "gpo_bench/HopperHilly-v1",
        "--steps",
        "1024",
        "--seed",
        "5",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["env_kwargs"] == {"terrain_seed": 5}


def test_a_continuous_task_beyond_mujoco_still_trains(tmp_path):
    out = tmp_path / "pendulum"
    result = gpo_bench("train", "--algo", "ppo", "--env", "Pendulum-v1", "--steps", "2048", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert is_done(out)


@pytest.mark.parametrize(
    "name,value,accepts",
    [
        ("GPO_BENCH_CHECKPOINT_SECONDS", "abc", "expected a number of seconds >= 0"),
        ("GPO_BENCH_CHECKPOINT_SECONDS", "-1", "expected a number of seconds >= 0"),
        ("GPO_BENCH_PROGRESS_SECONDS", "0", "expected a number of seconds > 0"),
        ("GPO_BENCH_HEARTBEAT_SECONDS", "nan", "expected a number of seconds > 0"),
        ("GPO_BENCH_STALL_SECONDS", "1m", "expected a number of seconds > 0"),
        ("GPO_BENCH_LEASE_SECONDS", "inf", "expected a number of seconds > 0"),
        ("GPO_BENCH_TENSORBOARD", "maybe", "expected 1 or 0"),
        ("GPO_BENCH_RESULTS", " ", "is set but empty"),
    ],
)
def test_every_gpo_bench_variable_is_validated_in_one_line_naming_it(tmp_path, name, value, accepts):
    env = {**os.environ, name: value}
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "bench.cli", "train", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gpo-bench: error: {name}") and accepts in lines[0]
    assert not out.exists()


def test_run_refuses_both_names_of_runs_at_once():
    out = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--suite", "smoke", "--dry-run", "--workers", "1",
         "--runs-at-once", "2"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "gpo-bench: error: --workers is the old name of --runs-at-once: give one of them"
    )
