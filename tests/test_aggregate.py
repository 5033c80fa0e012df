"""``gpo-bench aggregate`` on a synthetic study written by the test (known numbers)."""

import subprocess
import sys

import numpy as np
import pandas as pd

from bench.aggregate import aggregate
from bench.results import write_json, write_parquet
from bench.suite import load_suite

SUITE = """
algorithms = ["gpo", "single"]
envs = ["Hopper-v5"]
seeds = 3
steps_per_policy = 61440
population = 2
rounds = 2
"""


def synthetic_study(tmp_path):
    """GPO's curves end at 100 + 10·seed, Single's at 50 + 10·seed; seed 2 of Single unfinished."""
    path = tmp_path / "study.toml"
    path.write_text(SUITE)
    suite = load_suite(str(path))
    results = tmp_path / "results"
    for run in suite.runs():
        folder = run.folder(results)
        base = (100.0 if run.algo == "gpo" else 50.0) + 10 * run.seed
        steps = np.arange(1, 11) * 1000
        curve = pd.DataFrame(
            {
                "env_steps": steps,
                "return_mean": base * steps / steps[-1],
                "eval_return": np.where(steps % 5000 == 0, base + 1.0, np.nan),
            }
        )
        write_parquet(folder / "curve.parquet", curve)
        status = "running" if (run.algo == "single" and run.seed == 2) else "done"
        write_json(folder / "run.json", {"status": status})
    return path, suite, results


def test_tables_match_a_direct_computation(tmp_path):
    _, suite, results = synthetic_study(tmp_path)
    result = aggregate(suite, results)
    assert result.unfinished == ["single/Hopper-v5/seed2"]
    summary = result.summary().set_index("algo")
    gpo_finals = np.array([101.0, 111.0, 121.0])
    assert summary.loc["gpo", "mean"] == gpo_finals.mean()
    assert np.isclose(summary.loc["gpo", "se"], gpo_finals.std(ddof=1) / np.sqrt(3))
    assert summary.loc["single", "seeds"] == 2 and summary.loc["single", "mean"] == 56.0
    assert summary.loc["gpo", "mean"] > summary.loc["single", "mean"]
    final = result.final.set_index(["algo", "seed"])
    assert final.loc[("gpo", 1), "final_train_return"] == 110.0  # the last 10% of rows: one row
    curves = result.curves
    assert set(curves["metric"]) == {"return_mean", "eval_return"}
    assert len(curves[(curves.algo == "gpo") & (curves.metric == "eval_return")]) == 3 * 2


def test_a_corrupt_file_is_named_exit_2_and_the_rest_still_aggregates(tmp_path):
    path, suite, results = synthetic_study(tmp_path)
    bad = suite.runs()[0].folder(results) / "curve.parquet"
    bad.write_bytes(b"not parquet")
    out = subprocess.run(
        [sys.executable, "-m", "bench.cli", "aggregate", "--suite", str(path), "--results", str(results)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and str(bad) in out.stderr and out.stderr.count("\n") <= 2
    final = pd.read_parquet(results / "study" / "tables" / "final.parquet")
    assert len(final) == 4  # 6 runs, 1 unfinished, 1 unreadable
