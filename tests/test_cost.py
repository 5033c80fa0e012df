"""The --dry-run cost model: its arithmetic, its count of evaluations, its table."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bench.runs.algorithms import build_run
from bench.runs.families.gpo import evaluations_per_member as gpo_evaluations_per_member
from bench.runs.planning import StepCosts, core_hours, run_seconds
from bench.runs.suite import load_suite

COSTS = StepCosts(
    train={
        kind: {"HalfCheetah-v5": 1e-4, "Ant-v5": 3e-4} for kind in ("population", "joint", "ppo-kl", "ppo")
    }
    | {"a2c": {"HalfCheetah-v5": 2e-4, "Ant-v5": 5e-4}}
    | {"a2c-sb3": {"HalfCheetah-v5": 6e-4, "Ant-v5": 7e-4}},
    crossover={"HalfCheetah-v5": 4e-4, "Ant-v5": 9e-4},
    evaluation={"HalfCheetah-v5": 5e-5, "Ant-v5": 2e-4},
    obs_dims={"HalfCheetah-v5": 17, "Ant-v5": 105},
)


def test_single_joint_and_gpo_are_priced_part_by_part():
    single = run_seconds(build_run("single", "HalfCheetah-v5", 100_000, 0, population=4), COSTS)
    # 4 members x 100k steps; each evaluated at 20,480, 40,960, 61,440, 81,920 and at the end
    assert single["training"] == pytest.approx(4 * 100_000 * 1e-4)
    assert single["evaluation"] == pytest.approx(4 * 5 * 5 * 1000 * 5e-5)
    joint = run_seconds(build_run("joint", "HalfCheetah-v5", 100_000, 0, population=4), COSTS)
    # the same steps; one policy evaluated at the same per-policy points as each of Single's four
    assert joint["training"] == pytest.approx(single["training"])
    assert joint["evaluation"] == pytest.approx(single["evaluation"] / 4)
    gpo_spec = build_run("gpo", "HalfCheetah-v5", 150_000, 0, population=4, rounds=6)
    gpo = run_seconds(gpo_spec, COSTS)
    config = gpo_spec.config
    assert gpo["training"] == pytest.approx(4 * config.mutation_steps_per_policy * 1e-4)
    assert gpo["crossover"] == pytest.approx(5 * 4 * config.crossover_steps_per_child * 4e-4)
    evaluations = 4 * gpo_evaluations_per_member(config) + 2 * 5 * 4  # members, every child and hybrid
    assert gpo["evaluation"] == pytest.approx(evaluations * 5 * 1000 * 5e-5)


def test_an_a2c_run_of_any_family_is_priced_at_its_own_a2cs_plain_cost():
    """The paper's A2C (one Adam step per batch) and SB3's (a step every 20 env steps) are two rows
    of the table; GPO, Single and Joint with the paper's A2C train at its row's cost."""
    for algo, row in (("a2c", 2e-4), ("a2c-sb3", 6e-4), ("single-a2c", 2e-4), ("joint-a2c", 2e-4)):
        spec = build_run(algo, "HalfCheetah-v5", 100_000, 0, population=4)
        assert run_seconds(spec, COSTS)["training"] == pytest.approx(spec.env_steps * row), algo
    gpo = build_run("gpo-a2c", "HalfCheetah-v5", 150_000, 0, population=4, rounds=6)
    assert run_seconds(gpo, COSTS)["training"] == pytest.approx(
        4 * gpo.config.mutation_steps_per_policy * 2e-4
    )


def test_every_kind_the_model_prices_is_measured_by_the_costs_command():
    from bench.perf.costs import PLAIN_KINDS, plain_configs
    from bench.runs.planning import KINDS, StepCosts

    assert set(KINDS) == {"population", *PLAIN_KINDS} and set(plain_configs("HalfCheetah-v5", 2048)) == set(
        PLAIN_KINDS
    )
    shipped = StepCosts.shipped()
    assert set(shipped.train) == set(KINDS)
    assert all(set(shipped.train[kind]) == set(shipped.obs_dims) for kind in KINDS)  # every task, every kind


def test_tasks_are_priced_by_their_own_measured_costs_or_the_nearest_measured_one():
    cheetah, _ = core_hours([build_run("ppo", "HalfCheetah-v5", 50_000, 0)], COSTS)
    ant, _ = core_hours([build_run("ppo", "Ant-v5", 50_000, 0)], COSTS)
    assert ant > 2.5 * cheetah
    walker, borrowed = core_hours([build_run("ppo", "Walker2d-v5", 50_000, 0)], COSTS)
    assert walker == pytest.approx(cheetah) and borrowed == ["Walker2d-v5 as HalfCheetah-v5"]


@pytest.mark.slow
def test_the_model_counts_gpo_evaluations_as_the_run_makes_them():
    from gpo.core.ppo import PPOConfig
    from gpo.crossover import CrossoverConfig
    from gpo.dagger import DAggerConfig
    from gpo.gpo import GPO, GPOConfig

    for every in (300, 700, 5000):
        config = GPOConfig(
            "InvertedPendulum-v5",
            2048,
            population=2,
            rounds=3,
            learner=PPOConfig.kl_penalty(n_steps=128),
            crossover=CrossoverConfig(dagger=DAggerConfig(hybrid_steps=128, child_steps=64, iterations=2)),
            eval_episodes=1,
            eval_every_steps=every,
        )
        run = GPO(config).run()
        evaluated = [r for r in run.curve if r["phase"] == "mutation" and not np.isnan(r["eval_return"])]
        assert len(evaluated) == gpo_evaluations_per_member(config)


def dry_run(*args: str, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}  # this test's calibration cache only
    command = [sys.executable, "-m", "bench.cli", "run", "--results", "/nonexistent", "--dry-run", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def test_dry_run_prices_the_suite_from_the_shipped_table(tmp_path):
    shipped = StepCosts.shipped()
    assert {"HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5"} <= set(shipped.obs_dims)
    out = dry_run("--suite", "lite", cache=tmp_path)
    assert out.returncode == 0, out.stderr
    expected, _ = core_hours([r.spec() for r in load_suite("lite").runs()])
    assert f"60 to run, 0 already done; about {expected:.2f} core-hours" in out.stdout
    assert "priced with shipped step costs" in out.stdout and "`gpo-bench calibrate` fits them" in out.stdout


def test_a_calibration_scales_the_table_and_the_dry_run_says_it_used_it(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    calibrated = subprocess.run(
        [sys.executable, "-m", "bench.cli", "calibrate", "--steps", "2048"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert calibrated.returncode == 0, calibrated.stderr
    cache = next((tmp_path / "gpo-bench").glob("step-costs-*.json"))
    factors = json.loads(cache.read_text())["factors"]
    assert set(factors) == {
        "population",
        "joint",
        "ppo-kl",
        "ppo",
        "a2c",
        "a2c-sb3",
        "crossover",
        "evaluation",
    }
    assert all(0.05 < f < 20 for f in factors.values())
    # a known calibration: every kind twice the shipped cost doubles the estimate
    cache.write_text(json.dumps({"factors": dict.fromkeys(factors, 2.0), "measured": "2026-12-07T00:00:00Z"}))
    out = dry_run("--suite", "lite", cache=tmp_path)
    shipped_hours, _ = core_hours([r.spec() for r in load_suite("lite").runs()])
    assert f"about {2 * shipped_hours:.2f} core-hours" in out.stdout
    assert "priced with step costs calibrated on this machine (2026-12-07, median 2.00x" in out.stdout


def test_the_dry_run_gives_the_wall_time_of_the_layout_it_would_use(tmp_path):
    from bench.runs.planning import speedup, wall_hours

    # two slots, runs of 3, 2, 2 and 1 hours on one worker each: 3 h on one, 2 + 1 h and 2 h
    assert wall_hours([3 * 3600.0, 2 * 3600.0, 2 * 3600.0, 3600.0], 2, 2, lambda i, s, n: 1) == pytest.approx(
        4.0
    )
    assert speedup(1) == 1.0 and speedup(8) > speedup(2) > 1.0
    local = dry_run("--suite", "lite", "--runs-at-once", "2", cache=tmp_path)
    assert "wall time about" in local.stdout and "2 runs at once" in local.stdout
    slurm = dry_run("--suite", "paper-budget", "--executor", "slurm", "--cpus-per-task", "8", cache=tmp_path)
    if slurm.returncode == 0:  # where sbatch exists: array tasks of 8 CPUs, runs on 8 workers
        assert "array tasks at once of 8 CPUs each" in slurm.stdout


def test_measuring_one_tasks_step_costs_merges_it_into_the_table_and_keeps_the_others(tmp_path, monkeypatch):
    import argparse
    import shutil
    from pathlib import Path

    from bench.perf import costs as perf_costs
    from bench.runs.planning import KINDS

    table = tmp_path / "step-costs.json"
    shutil.copy(Path(__file__).resolve().parent.parent / "bench" / "data" / "step-costs.json", table)
    before = json.loads(table.read_text())
    fake = {"train": dict.fromkeys(KINDS, 1e-3), "crossover": 2e-3, "evaluation": 3e-3, "obs_dim": 17}
    monkeypatch.setattr(perf_costs, "step_costs", lambda task, steps: fake)
    perf_costs.costs(argparse.Namespace(env=["HalfCheetah-v5"], steps=2048, out=str(table)))
    after = json.loads(table.read_text())
    assert set(after["obs_dims"]) == set(before["obs_dims"])  # no task erased
    assert after["crossover"]["HalfCheetah-v5"] == 2e-3 and after["train"]["ppo"]["HalfCheetah-v5"] == 1e-3
    others = [t for t in before["obs_dims"] if t != "HalfCheetah-v5"]
    assert others and all(after["crossover"][t] == before["crossover"][t] for t in others)
    assert after["by_task"]["HalfCheetah-v5"]["command"] == "python -m bench.perf costs --env HalfCheetah-v5"
    assert after["by_task"][others[0]]["measured"] == before["measured"]  # the old rows keep their date
    StepCosts.from_dict(after)  # still a table the cost model reads

    # --kind: only that plain kind's rows, with their own provenance; nothing else moves
    monkeypatch.setattr(perf_costs, "plain_seconds", lambda config: 4e-3)
    perf_costs.costs(
        argparse.Namespace(env=["Ant-v5", "Hopper-v5"], steps=2048, out=str(table), kind=["a2c"])
    )
    kind_only = json.loads(table.read_text())
    assert kind_only["train"]["a2c"]["Ant-v5"] == kind_only["train"]["a2c"]["Hopper-v5"] == 4e-3
    assert {k: v for k, v in kind_only.items() if k not in ("train", "by_kind")} == {
        k: v for k, v in after.items() if k not in ("train", "by_kind")
    }
    kept = {
        t: p for t, p in after.get("by_kind", {}).get("a2c", {}).items() if t not in ("Ant-v5", "Hopper-v5")
    }
    assert all(kind_only["by_kind"]["a2c"][t] == p for t, p in kept.items())  # other tasks' rows keep theirs
    assert all(kind_only["train"][k] == after["train"][k] for k in KINDS if k != "a2c")
    provenance = kind_only["by_kind"]["a2c"]["Ant-v5"]
    assert provenance["command"] == "python -m bench.perf costs --env Ant-v5 --env Hopper-v5 --kind a2c"


def test_refusing_a_size_no_one_means_never_counts_its_evaluations(monkeypatch):
    """size_error prices training steps by the family's cost kind alone: counting GPO's evaluations
    (a loop over rounds) for an absurd request would take as long as the check is meant to spare."""
    from bench.runs.families import GPO
    from bench.runs.planning import size_error

    spec = build_run("gpo", "Hopper-v5", 10**11, 0, population=2, rounds=10**7)

    def never(config):
        raise AssertionError("size_error counted the run's cost parts")

    monkeypatch.setattr(GPO, "cost_parts", never)
    assert "more than the 8,760 (a core-year)" in size_error(spec)


def test_a_time_limit_shorter_than_a_runs_stretch_between_safe_points_is_refused(tmp_path):
    """A run saves only at its safe points (GPO: after learner iterations about every
    SEGMENT_SECONDS within a mutation phase, and at a round's end, none within a crossover phase),
    so SLURM attempts that train less than the longest stretch between two never save anything
    (issue #45): refused in one line naming the run and the shortest limit that works; a plain
    run saves at every learner iteration and passes."""
    import math

    from bench.runs.planning import START_SECONDS, safe_point_error, speedup
    from gpo.gpo import SEGMENT_SECONDS

    suite = tmp_path / "limited.toml"
    suite.write_text(
        'algorithms = ["gpo", "ppo-kl"]\nenvs = ["HalfCheetah-v5"]\nseeds = 2\n'
        "steps_per_policy = 1_000_000\npopulation = 8\nrounds = 2\n"
    )
    configurations = load_suite(str(suite)).configurations()
    gpo = build_run("gpo", "HalfCheetah-v5", 1_000_000, 0, population=8, rounds=2)
    parts = run_seconds(gpo, COSTS)
    iterations = gpo.config.mutation_steps_per_policy // 2048
    # a mutation segment, then a crossover phase with its evaluations, on 2 member workers
    stretch = max(SEGMENT_SECONDS, parts["training"] / iterations / speedup(2))
    stretch += (parts["crossover"] + parts["evaluation"]) / 2 / speedup(2)
    shortest = math.ceil((stretch + 90 + START_SECONDS) / 60)
    assert shortest > 3  # the crossover phase is the long stretch here
    error = safe_point_error(configurations, shortest - 1, cpus=2, costs=COSTS)
    assert error is not None and error.startswith(
        f"--time-min {shortest - 1} is too short for gpo/HalfCheetah-v5"
    )
    assert "learner iterations within its mutation phases" in error
    assert error.endswith(f"this suite needs --time-min >= {shortest}")
    assert safe_point_error(configurations, shortest, cpus=2, costs=COSTS) is None
    plain = [(run, n) for run, n in configurations if run.algo == "ppo-kl"]
    assert safe_point_error(plain, 3, cpus=2, costs=COSTS) is None  # an iteration is seconds
    # the command refuses before anything is priced or submitted (a dry run, to be sure of it)
    refused = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--suite", str(suite), "--executor", "slurm", "--dry-run"]
        + ["--time-min", "3", "--results", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    if "no SLURM here" not in refused.stderr:  # sbatch is installed (CI, this machine)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert "--time-min 3 is too short for gpo/HalfCheetah-v5" in refused.stderr
    assert not (tmp_path / "r").exists()
