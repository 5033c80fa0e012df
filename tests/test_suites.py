"""Suites as data, validated before anything starts; ``gpo-bench run`` on the local executor."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.envs import PAPER_TASKS
from bench.runs.suite import SuiteError, load_suite, shipped


def gpo_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True)


def write_suite(tmp_path, body: str):
    path = tmp_path / "mine.toml"
    path.write_text(body)
    return path


GOOD = """
algorithms = ["ppo"]
envs = ["InvertedPendulum-v5"]
seeds = 2
steps_per_policy = 2048
population = 2
rounds = 2
"""


def test_every_shipped_suite_loads_and_the_paper_suites_have_their_shape():
    assert {"smoke", "mujoco", "a2c", "ablations", "popsize", "lite"} <= set(shipped())
    mujoco = load_suite("mujoco")
    assert len(mujoco.envs) == 9 and mujoco.populations == (8,) and len(mujoco.seeds) == 8
    assert "gpo_bench/HopperHilly-v1" in mujoco.envs
    assert load_suite("popsize").populations == (2, 4, 8, 16)
    assert {r.algo_label for r in load_suite("popsize").runs()} == {"gpo-m2", "gpo-m4", "gpo-m8", "gpo-m16"}
    assert len(load_suite("smoke").runs()) == 4
    paper = load_suite("paper-budget")  # the paper's budget on Table 1's nine tasks (#15, #31, #41)
    assert (paper.populations, paper.steps_per_policy, paper.rounds) == ((8,), 1_000_000, 12)
    assert set(paper.algorithms) == {"gpo", "single", "joint"} and len(paper.runs()) == 93
    assert set(paper.envs) == set(PAPER_TASKS.values())


@pytest.mark.parametrize(
    "change,message",
    [
        (('["ppo"]', '["ppo", "dqn"]'), "algorithms: unknown 'dqn'; accepted:"),
        (('["InvertedPendulum-v5"]', '["Pong-v9"]'), "envs: unknown 'Pong-v9'"),
        (
            ('["InvertedPendulum-v5"]', '["gpo_bench/HopperHilly-v0"]'),  # retired: v1 replaced it
            "envs: 'gpo_bench/HopperHilly-v0' is not a version registered here; "
            "accepted: gpo_bench/HopperHilly-v1",
        ),
        (("seeds = 2", 'seeds = "two"'), "seeds: expected an integer >= 0"),
        (("steps_per_policy = 2048", "steps_per_policy = -5"), "steps_per_policy: expected an integer >= 1"),
        (("rounds = 2", "rounds = 2\nbudget = 3"), "budget: unknown field; accepted:"),
        ((('["ppo"]', '["single"]'), ("population = 2\n", "")), "population: missing (single reads it;"),
        (("seeds = 2", "seeds = [0, 0]"), "seeds: 0 is listed twice"),
        (('["ppo"]', '["ppo", "a2c", "ppo"]'), "algorithms: 'ppo' is listed twice"),
        (('["InvertedPendulum-v5"]', '["Hopper-v5", "Hopper-v5"]'), "envs: 'Hopper-v5' is listed twice"),
        (("population = 2", "population = [2, 2]"), "population: 2 is listed twice"),
        (('["InvertedPendulum-v5"]', '["CartPole-v1"]'), "ppo/CartPole-v1/seed0: CartPole-v1 has a Discrete"),
        (("rounds = 2", "rounds = 2\neval_every_steps = -1"), "eval_every_steps: expected an integer >= 0"),
        (("rounds = 2", "rounds = 2\neval_episodes = 0"), "eval_episodes: expected an integer >= 1"),
        (("rounds = 2", "rounds = 2\ntraining_dtype = 'half'"), "training_dtype: expected one of float64"),
        (('["ppo"]', '["gpo"]'), "gpo/InvertedPendulum-v5/seed0: steps_per_policy (2048) is too small for 2"),
    ],
)
def test_a_bad_suite_is_rejected_naming_the_field(tmp_path, change, message):
    body = GOOD
    for old, new in change if isinstance(change[0], tuple) else (change,):
        body = body.replace(old, new)
    path = write_suite(tmp_path, body)
    with pytest.raises(SuiteError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_suite(str(path))
    result = gpo_bench("run", "--suite", str(path), "--results", str(tmp_path / "r"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "change,message",
    [
        (("rounds = 2", "rounds = 2\n[learner]\nlearnig_rate = 1e-3"), "learner.learnig_rate: not a setting"),
        (
            ("rounds = 2", "rounds = 2\n[learner]\nlearning_rate = -1e-3"),
            "learner.learning_rate: learning_rate",
        ),
        (
            ("rounds = 2", "rounds = 2\n[learner]\nlearning_rate = '1e-3'"),
            "learner.learning_rate: expected a float",
        ),
        (("rounds = 2", "rounds = 2\n[learner]\nn_epochs = 2.5"), "learner.n_epochs: expected a int"),
        (
            ("rounds = 2", "rounds = 2\n[learner]\nlearning_rate = [1e-3, 1e-3]"),
            "learner.learning_rate: 0.001 is",
        ),
        (
            ("rounds = 2", "rounds = 2\n[learner]\nlearning_rate = []"),
            "learner.learning_rate: expected a value",
        ),
        (("rounds = 2", "rounds = 2\nlearner = 3"), "learner: expected a table"),
        (
            (('["ppo"]', '["ppo", "a2c"]'), ("rounds = 2", "rounds = 2\n[learner]\nkl_target = 0.02")),
            "learner.kl_target: not a setting of a2c's learner (A2CConfig)",
        ),
    ],
)
def test_a_bad_learner_setting_is_rejected_naming_it(tmp_path, change, message):
    """As every bad suite (the command line's one-line refusal is checked above for the others)."""
    body = GOOD
    for old, new in change if isinstance(change[0], tuple) else (change,):
        body = body.replace(old, new)
    with pytest.raises(SuiteError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_suite(str(write_suite(tmp_path, body)))


def test_a_learner_setting_reaches_every_runs_learner_and_a_list_of_them_names_the_runs(tmp_path):
    """``[learner]``: one value replaces the default in every run (and is part of its recorded
    configuration, so a run made with the default is another run); a list makes one set of runs
    per value, each named by it, as a list of populations does."""
    body = (
        GOOD.replace('["ppo"]', '["ppo", "ppo-kl"]')
        + "[learner]\nlearning_rate = [1e-4, 3e-4]\nn_epochs = 4\n"
    )
    suite = load_suite(str(write_suite(tmp_path, body)))
    runs = suite.runs()
    assert len(runs) == suite.size() == 2 * 2 * 2  # algorithms x rates x seeds
    labels = sorted({r.algo_label for r in runs})
    assert labels == ["ppo-kl-lr0.0001", "ppo-kl-lr0.0003", "ppo-lr0.0001", "ppo-lr0.0003"]
    for run in runs:
        learner = run.spec().config.learner
        assert learner.learning_rate == dict(run.learner)["learning_rate"] and learner.n_epochs == 4
        assert learner.objective == ("kl_penalty" if run.algo == "ppo-kl" else "clip")  # the rest as named
        assert run.configuration()["learner"]["learning_rate"] == learner.learning_rate
    assert len({r.folder(tmp_path) for r in runs}) == len(runs)
    assert [r.algo_label for r, _ in suite.configurations()] == [
        "ppo-lr0.0001",
        "ppo-lr0.0003",
        "ppo-kl-lr0.0001",
        "ppo-kl-lr0.0003",
    ]
    plain = load_suite(str(write_suite(tmp_path, GOOD)))
    assert plain.runs()[0].configuration() != runs[0].configuration()
    one = load_suite(str(write_suite(tmp_path, GOOD + "[learner]\nlearning_rate = 1e-4\n")))
    assert one.runs()[0].algo_label == "ppo" and one.runs()[0].spec().config.learner.learning_rate == 1e-4
    assert one.size() == len(one.runs()) == 2


def test_narrowing_to_what_the_suite_does_not_have_is_an_error():
    with pytest.raises(SuiteError, match="--algo: 'ppo' is not in suite 'smoke'"):
        load_suite("smoke").narrowed(algorithms=["ppo"])
    narrowed = load_suite("smoke").narrowed(envs=["Hopper-v5"], seeds=3, steps_per_policy=20480)
    assert {r.env for r in narrowed.runs()} == {"Hopper-v5"} and len(narrowed.runs()) == 6
    assert all(r.steps_per_policy == 20480 for r in narrowed.runs())


def test_dry_run_lists_and_runs_nothing(tmp_path):
    result = gpo_bench("run", "--suite", "lite", "--dry-run", "--results", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.count("would run") == 60 and "60 to run, 0 already done" in result.stdout
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_smoke_suite_runs_locally_once_and_a_second_run_launches_nothing(tmp_path):
    first = gpo_bench("run", "--suite", "smoke", "--results", str(tmp_path), "--workers", "2")  # the old name
    assert first.returncode == 0, first.stderr
    assert "note: `run --workers` is now `--runs-at-once` (runs executing at once)" in first.stderr
    assert "4 done now, 0 done before, 0 failed" in first.stdout
    for run in load_suite("smoke").runs():
        record = json.loads((run.folder(tmp_path) / "run.json").read_text())
        assert record["status"] == "done" and record["job_id"] and record["suite"] == "smoke"
        assert (run.folder(tmp_path) / "curve.parquet").exists()
    second = gpo_bench("run", "--suite", "smoke", "--results", str(tmp_path))
    assert second.returncode == 0 and "0 done now, 4 done before" in second.stdout
    assert "started" not in second.stdout
    status = gpo_bench("status", "--suite", "smoke", "--results", str(tmp_path))
    assert sum(line.startswith("done ") for line in status.stdout.splitlines()) == 4


def test_a_failing_run_is_reported_with_its_error_and_log_and_runs_again_next_time(tmp_path):
    import gymnasium as gym

    from bench.runs.launch import launch
    from bench.runs.suite import Run

    # Registered in this process only: the run's own subprocess cannot make it, so it fails.
    gym.register("GPOTest/OnlyHere-v0", entry_point="gymnasium.envs.classic_control:PendulumEnv")
    run = Run("mine", "ppo", "GPOTest/OnlyHere-v0", 0, 2048, 1, 1)
    report = launch([run], tmp_path, executor="local")
    assert [r for r, _ in report.failed] == [run] and not report.done
    record = json.loads((run.folder(tmp_path) / "run.json").read_text())
    assert record["status"] == "failed" and "GPOTest" in record["error"]
    assert record["log"] and "GPOTest" in Path(record["log"]).read_text()
    again = launch([run], tmp_path, executor="local")
    assert len(again.failed) == 1 and not again.skipped  # failed runs are not skipped


def test_the_evaluation_schedule_is_a_suite_choice_that_does_not_change_a_runs_identity(tmp_path):
    """eval_every_steps reaches every run's configuration; a finished run evaluated on another
    schedule still counts as done (the schedule never changes what is trained), while another
    number of evaluation episodes does not (it changes the evaluation returns)."""
    from bench.runs.results import write_json

    runs = load_suite(str(write_suite(tmp_path, GOOD + "eval_every_steps = 1024\n"))).runs()
    assert {r.spec().config.eval_every_steps for r in runs} == {1024}
    run = load_suite(str(write_suite(tmp_path, GOOD))).runs()[0]
    assert run.spec().config.eval_every_steps == 20_480
    folder = run.folder(tmp_path)
    folder.mkdir(parents=True)
    config = run.configuration()
    for recorded, expected in (
        ({**config, "eval_every_steps": 7}, "done"),
        ({**config, "eval_episodes": 1}, "other"),
    ):
        write_json(folder / "run.json", {"status": "done", "config": recorded, "files": {}})
        assert run.finished(tmp_path) == expected


def test_a_run_recorded_before_a_configuration_field_existed_counts_as_made_with_its_default(tmp_path):
    """A finished run's run.json records the configuration of its day. One recorded before
    PolicyConfig.training_dtype existed was made in float64, the field's default, and still counts
    as done; a run recorded with float32 training is another configuration."""
    from bench.runs.results import write_json

    for algo in ("gpo", "single"):
        text = GOOD.replace('"ppo"', f'"{algo}"').replace("2048", "40960")
        run = load_suite(str(write_suite(tmp_path, text))).runs()[0]
        folder = run.folder(tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        config = run.configuration()
        assert config["policy"]["training_dtype"] == "float64"
        older = {k: v for k, v in config["policy"].items() if k != "training_dtype"}
        float32 = {**config["policy"], "training_dtype": "float32"}
        for recorded, expected in (
            ({**config, "policy": older}, "done"),
            ({k: v for k, v in config.items() if k != "policy"}, "done"),  # a whole nested config
            ({**config, "policy": float32}, "other"),
            ({**config, "policy": {**older, "hidden": [32, 32]}}, "other"),
        ):
            write_json(folder / "run.json", {"status": "done", "config": recorded, "files": {}})
            assert run.finished(tmp_path) == expected, (algo, recorded)


def test_a_suites_training_dtype_reaches_every_runs_policy_and_makes_them_other_runs(tmp_path):
    """training_dtype = "float32" in a suite sets every run's PolicyConfig; a finished float64 run
    in the same folder is another configuration (never counted, never replaced without --force)."""
    from bench.runs.results import write_json

    text = GOOD.replace('["ppo"]', '["gpo", "single", "joint", "ppo"]').replace("2048", "40960")
    single = load_suite(str(write_suite(tmp_path, text + 'training_dtype = "float32"\n'))).runs()
    double = load_suite(str(write_suite(tmp_path, text))).runs()
    assert {run.spec().config.policy.training_dtype for run in single} == {"float32"}
    assert {run.spec().config.policy.training_dtype for run in double} == {"float64"}
    for run32, run64 in zip(single, double):
        assert run32.folder(tmp_path) == run64.folder(tmp_path)
        folder = run64.folder(tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "run.json", {"status": "done", "config": run64.configuration(), "files": {}})
        assert (run64.finished(tmp_path), run32.finished(tmp_path)) == ("done", "other")


def test_env_seeds_give_some_tasks_other_seeds_and_the_tables_ask_for_them(tmp_path):
    body = GOOD.replace('envs = ["InvertedPendulum-v5"]', 'envs = ["InvertedPendulum-v5", "Pendulum-v1"]')
    suite = load_suite(str(write_suite(tmp_path, body + '\n[env_seeds]\n"Pendulum-v1" = [0, 3, 4]\n')))
    assert sorted((r.env, r.seed) for r in suite.runs()) == [
        ("InvertedPendulum-v5", 0),
        ("InvertedPendulum-v5", 1),
        ("Pendulum-v1", 0),
        ("Pendulum-v1", 3),
        ("Pendulum-v1", 4),
    ]
    # --env keeps a task's own seeds; --seeds N asks N of every task
    assert [r.seed for r in suite.narrowed(envs=["Pendulum-v1"]).runs()] == [0, 3, 4]
    assert len(suite.narrowed(seeds=1).runs()) == 2
    from bench.analysis.study import Study

    assert Study(suite, tmp_path).seeds_asked() == {"InvertedPendulum-v5": 2, "Pendulum-v1": 3}
    paper = load_suite("paper-budget")
    assert (
        len(paper.runs()) == 93
        and len(paper.seeds_for("Walker2d-v5")) == 5
        and len(paper.seeds_for("Ant-v5")) == 3
    )


def test_env_seeds_must_name_the_suites_tasks(tmp_path):
    path = write_suite(tmp_path, GOOD + '\n[env_seeds]\n"Hopper-v5" = 5\n')
    with pytest.raises(SuiteError, match="env_seeds: 'Hopper-v5' is not one of the suite's envs"):
        load_suite(str(path))


def test_a_suite_of_plain_policies_needs_no_population_or_rounds(tmp_path):
    body = GOOD.replace("population = 2\n", "").replace("rounds = 2\n", "")
    suite = load_suite(str(write_suite(tmp_path, body)))
    assert [r.name for r in suite.runs()] == [
        "ppo/InvertedPendulum-v5/seed0",
        "ppo/InvertedPendulum-v5/seed1",
    ]


def test_a_budget_too_small_for_gpo_names_the_smallest_that_works(tmp_path):
    body = GOOD.replace('["ppo"]', '["gpo"]')
    with pytest.raises(SuiteError) as error:
        load_suite(str(write_suite(tmp_path, body)))
    # 2 rounds: 1 crossover of 5,120 steps per child, then at least 2 mutation steps
    assert "the smallest budget these settings accept is 5122" in str(error.value)
    assert "one learner iteration per round needs 9216" in str(error.value)
    load_suite(str(write_suite(tmp_path, body.replace("steps_per_policy = 2048", "steps_per_policy = 5122"))))


def test_sizes_no_one_means_are_refused_with_the_estimate_before_planning(tmp_path):
    results = tmp_path / "r"
    many = gpo_bench("run", "--suite", "smoke", "--seeds", "1000000", "--results", str(results))
    assert many.returncode == 2 and "has 4,000,000 runs, more than the 10,000" in many.stderr
    # a dry run answers what it would cost, by configuration, and says a launch would be refused
    ask = ("run", "--suite", "smoke", "--seeds", "1000000", "--dry-run", "--results", str(results))
    priced = gpo_bench(*ask)
    assert priced.returncode == 0, priced.stderr
    lines = priced.stdout.splitlines()
    assert lines[0].startswith("4,000,000 runs, more than the 10,000 one launch plans: priced by")
    assert lines[0].endswith("core-hours") and lines[1] == "a launch would be refused: more than 10,000 runs"
    assert not (results / "smoke").exists()  # nothing planned, nothing written
    long = gpo_bench("run", "--suite", "smoke", "--steps", str(10**11), "--results", str(results))
    assert long.returncode == 2 and "core-hours" in long.stderr and "a core-year" in long.stderr
    huge = write_suite(
        tmp_path, GOOD.replace('["ppo"]', '["single"]').replace("population = 2", "population = 10**9")
    )
    assert gpo_bench("run", "--suite", str(huge), "--results", str(results)).returncode == 2
    big = write_suite(
        tmp_path, GOOD.replace('["ppo"]', '["single"]').replace("population = 2", "population = 1000000000")
    )
    out = gpo_bench("run", "--suite", str(big), "--results", str(results))
    assert out.returncode == 2 and "1,000,000,000 policies in one run need at least" in out.stderr
    assert out.stderr.count("\n") == 1 and not results.exists()


@pytest.mark.parametrize("name", sorted(shipped()))
def test_every_shipped_suite_evaluates_each_run_within_its_budget_so_curves_have_points(name):
    """An evaluation schedule past the budget leaves one point (the final one) per curve: a lone
    dot in the figures. Every shipped suite evaluates at least twice before its end."""
    suite = load_suite(name)
    assert suite.eval_every_steps > 0 and suite.steps_per_policy // suite.eval_every_steps >= 2


def test_spare_cores_become_member_workers_at_most_one_per_member():
    from bench.runs.cores import local_share, member_workers

    gpo, single = (load_suite("smoke").narrowed(algorithms=[a]).runs()[0] for a in ("gpo", "single"))
    assert local_share(64, 18) == 3 and local_share(2, 2) == 1 and local_share(2, 1) == 2
    assert local_share(1, 4) == 1  # never less than one
    assert member_workers(gpo, 64) == 2  # smoke's population is 2
    assert member_workers(single, 1) == 1 and member_workers(single, 3) == 2
    from dataclasses import replace

    assert member_workers(replace(single, algo="ppo"), 64) == 1  # one policy: one worker
    assert member_workers(replace(single, algo="joint"), 64) == 1  # Joint's one learner too


def test_a_lone_local_run_gets_the_spare_cores_as_workers_with_the_same_numbers(tmp_path):
    from bench.runs.launch import launch

    runs = load_suite("smoke").narrowed(algorithms=["gpo"], envs=["InvertedPendulum-v5"]).runs()
    report = launch(runs, tmp_path / "two", executor="local", workers=1, machine_cores=2)
    assert len(report.done) == 1
    single_core = launch(runs, tmp_path / "one", executor="local", workers=1, machine_cores=1)
    assert len(single_core.done) == 1
    folders = {k: runs[0].folder(tmp_path / k) for k in ("one", "two")}
    assert json.loads((folders["two"] / "run.json").read_text())["workers"] == 2
    assert json.loads((folders["one"] / "run.json").read_text())["workers"] == 1
    import pandas as pd

    for table in ("curve.parquet", "members.parquet", "rounds.parquet"):
        a, b = (pd.read_parquet(folders[k] / table) for k in ("one", "two"))
        keep = [c for c in a.columns if "seconds" not in c]
        assert a[keep].equals(b[keep]), table


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--suite", "smoke", "--dry-run", "--max-requeues", "-1"], "--max-requeues must be >= 0"),
        (["calibrate", "--steps", "10"], "--steps must be >= 2048"),
    ],
)
def test_the_new_options_refuse_bad_values_in_one_line(tmp_path, args, message):
    out = gpo_bench(*args, *(["--results", str(tmp_path / "r")] if args[0] == "run" else []))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr
    assert not (tmp_path / "r").exists()


def test_every_algorithm_is_in_the_readmes_table():
    """A name ``gpo-bench`` accepts is one a reader can look up: README's Algorithms table."""
    from bench.runs.algorithms import ALGORITHMS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme.split("## Algorithms", 1)[1].split("\n\n", 2)[1]
    listed = {name for line in table.splitlines() for name in line.split("|")[1].replace("`", "").split(", ")}
    assert set(ALGORITHMS) <= {n.strip() for n in listed}, set(ALGORITHMS) - {n.strip() for n in listed}
