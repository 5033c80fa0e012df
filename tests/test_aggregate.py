"""``gpo-bench aggregate`` on a synthetic study with known numbers (tests/synthetic_study.py)."""

import numpy as np
import pandas as pd
import pytest
from synthetic_study import BASE, SCALE, UNFINISHED, level, write_study

from bench.analysis import stats
from bench.analysis.aggregate import build_tables, load_study, resample
from bench.analysis.paper import paper_returns
from bench.analysis.report import latex, markdown
from bench.cli import main
from bench.runs.results import write_json, write_parquet
from bench.runs.suite import load_suite

END = 0.98  # mean of the last 5 points of a 100-point grid over a line from 0 to 1


def tables_of(tmp_path, **options):
    path, suite, results = write_study(tmp_path)
    return path, results, build_tables(load_study(suite, results), **options)


def test_resampling_interpolates_linearly_and_never_extrapolates():
    at = np.array([0.0, 5.0, 10.0, 15.0, 25.0, 35.0])
    steps = np.array([5.0, 10.0, 20.0, 20.0, 30.0])
    values = np.array([1.0, 2.0, 99.0, 4.0, np.nan])  # two points at 20: the last one counts
    out = resample(steps, values, at)
    assert np.isnan(out[0]) and np.isnan(out[5])  # before the first point, after the last
    assert np.isnan(out[4])  # 25 lies beyond the last recorded (non-NaN) point, 20
    assert out[1] == 1.0 and out[2] == 2.0 and out[3] == 3.0  # halfway between 2 (at 10) and 4 (at 20)


def test_final_table_matches_a_direct_numpy_computation(tmp_path):
    _, _, tables = tables_of(tmp_path)
    assert tables.study.unfinished == ["single/Hopper-v5/seed3"]
    final = tables.final.set_index(["metric", "env", "algo"])
    for metric in ("train", "eval"):
        for env in SCALE:
            for algo in BASE:
                seeds = [s for s in range(4) if (algo, env, s) != UNFINISHED]
                expected = np.array([level(algo, env, s) * END for s in seeds])
                if metric == "train" and algo == "joint":  # one policy: its return_mean, 5 lower
                    expected -= 5.0
                row = final.loc[(metric, env, algo)]
                assert row["seeds"] == len(seeds) and row["seeds_asked"] == 4
                assert np.isclose(row["mean"], expected.mean())
                assert np.isclose(row["std"], expected.std(ddof=1))
                assert np.isclose(row["se"], expected.std(ddof=1) / np.sqrt(len(seeds)))
                middle = np.sort(expected)[1:-1] if len(seeds) == 4 else expected  # trim_mean(.25)
                assert np.isclose(row["iqm"], stats.iqm(expected))
                if len(seeds) == 4:
                    assert np.isclose(row["iqm"], middle.mean())
                assert row["ci_low"] < row["mean"] < row["ci_high"]
                assert expected.min() <= row["ci_low"] and row["ci_high"] <= expected.max()
                # Student-t: mean ± t(n-1)·SE; wider than the bootstrap's, which cannot pass the range
                half = {3: 4.302653, 4: 3.182446}[len(seeds)] * row["se"]
                assert np.isclose(row["t_ci_low"], row["mean"] - half, rtol=1e-6)
                assert np.isclose(row["t_ci_high"], row["mean"] + half, rtol=1e-6)
                assert row["t_ci_low"] < row["ci_low"] and row["ci_high"] < row["t_ci_high"]
    runs = tables.runs.set_index(["metric", "algo", "env", "seed"])["final"]
    assert np.isclose(runs[("eval", "gpo", "Walker2d-v5", 2)], level("gpo", "Walker2d-v5", 2) * END)


def test_gpo_comes_out_ahead_across_tasks(tmp_path):
    _, _, tables = tables_of(tmp_path)
    overall = tables.overall[tables.overall.metric == "eval"].set_index("algo")
    assert (overall["reference"] == "gpo").all() and overall.loc["gpo", "tasks"] == 3
    assert overall.loc["gpo", "iqm"] > overall.loc["joint", "iqm"] > overall.loc["single", "iqm"]
    for other in ("single", "joint", "gpo-param-crossover"):
        # gpo is ahead on every (task, seed) pair: the probability and its whole interval are 1
        assert overall.loc[other, "p_reference_better"] == 1.0
        assert overall.loc[other, "p_ci_low"] == 1.0
    assert overall.loc["single", "pairs"] == 11 and overall.loc["joint", "pairs"] == 12
    # Normalised by the study's worst and best run per task, the best run of all is gpo's seed 3
    assert overall.loc["gpo", "iqm_ci_high"] <= 1.0 and overall.loc["single", "iqm_ci_low"] >= 0.0


def test_the_paper_table_compares_ratios(tmp_path):
    _, _, tables = tables_of(tmp_path)
    paper = tables.paper[tables.paper.metric == "eval"].set_index("task")
    assert set(paper.index) == {"Hopper", "HalfCheetah", "Walker2d"}
    reported = paper_returns().set_index(["learner", "task"]).loc[("ppo", "Walker2d")]
    row = paper.loc["Walker2d"]
    assert np.isclose(row["paper_gpo_over_single"], reported["gpo_mean"] / reported["single_mean"])
    gpo = np.mean([level("gpo", "Walker2d-v5", s) for s in range(4)])
    joint = np.mean([level("joint", "Walker2d-v5", s) for s in range(4)])
    assert np.isclose(row["gpo_over_joint"], gpo / joint)
    assert row["gpo_over_joint_ci_low"] <= row["gpo_over_joint"] <= row["gpo_over_joint_ci_high"]
    assert row["order"] == "gpo > joint > single" and row["paper_order"] == "gpo > joint > single"
    assert paper.loc["Hopper", "paper_order"] == "joint > gpo > single"  # the paper's Table 1


def test_tables_are_the_same_bit_for_bit_when_built_again(tmp_path):
    _, _, first = tables_of(tmp_path / "a")
    _, _, second = tables_of(tmp_path / "b")
    for name in ("curves", "runs", "final", "overall", "paper", "crossovers"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name), check_exact=True)


def test_crossover_records_compare_children_with_their_parents_round_by_round(tmp_path):
    _, _, tables = tables_of(tmp_path)
    table = tables.crossovers.set_index(["algo", "env", "kind", "round"])
    assert set(table.index.get_level_values("kind")) == {"state", "parameter"}
    assert tables.crossovers["round"].dtype == np.int64  # runs' empty files do not make it float
    first = table.loc[("gpo", "Hopper-v5", "state", 0)]  # children 102 and 98 of parents 100 and 80
    assert first["runs"] == 4 and first["children"] == 8
    assert np.isclose(first["child"], 100.0) and np.isclose(first["better_parent"], 100.0)
    assert np.isclose(first["gap_better"], 0.0) and np.isclose(first["gap_mean"], 10.0)
    assert first["gap_better_se"] == 0.0  # the same in every run
    assert first["above_weaker"] == 1.0 and first["above_better"] == 0.5
    assert np.isclose(first["selector_accuracy"], 0.8) and np.isclose(first["imitation_kl"], 0.2)
    # round 1: children 175 + 10·seed against parents 200 and 150; the SE is over runs (seeds)
    second = table.loc[("gpo", "Walker2d-v5", "state", 1)]
    gaps = np.array([-25.0 + 10 * s for s in range(4)])
    assert np.isclose(second["gap_better"], gaps.mean()) and np.isclose(second["gap_mean"], gaps.mean() + 25)
    assert np.isclose(second["gap_better_se"], gaps.std(ddof=1) / 2)
    assert second["above_better"] == 0.25  # only seed 3's children (205) reach 200
    assert np.isclose(first["hybrid"], 115.0) and np.isclose(first["hybrid_gap_better"], 15.0)
    assert np.isclose(second["hybrid"], 200.0) and np.isclose(second["hybrid_gap_better"], 0.0)
    param = table.loc[("gpo-param-crossover", "Hopper-v5", "parameter", 0)]
    assert np.isclose(param["child"], 5.0) and param["above_weaker"] == 0.0
    assert np.isnan(param["hybrid"])  # no hybrid recorded (a parameter crossover, or an older run)
    assert list(dict.fromkeys(tables.crossovers["env"])) == ["Hopper-v5", "HalfCheetah-v5", "Walker2d-v5"]


def test_markdown_and_latex_carry_the_numbers(tmp_path):
    _, _, tables = tables_of(tmp_path)
    row = tables.final[(tables.final.metric == "eval") & (tables.final.algo == "single")].iloc[0]
    text = markdown("final", tables.final)
    assert f"{row['mean']:.1f} ± {row['se']:.1f}" in text and "| 3/4 |" in text
    tex = latex("final", tables.final)
    assert f"{row['mean']:.1f} $\\pm$ {row['se']:.1f}" in tex and "gpo-param-crossover" in tex
    assert tex.count(r"\begin{tabular}") == 2  # a table per metric


def test_aggregate_writes_every_table(tmp_path, capsys):
    path, results, _ = tables_of(tmp_path)
    assert main(["aggregate", "--suite", str(path), "--results", str(results), "--metric", "train"]) == 0
    printed = capsys.readouterr()
    assert "metric: train" in printed.out and "metric: eval" not in printed.out
    assert "left out, not finished: 1 runs" in printed.err
    folder = results / "synthetic" / "tables"
    for name in ("final", "overall", "paper"):
        for ext in ("parquet", "md", "tex"):
            assert (folder / f"{name}.{ext}").stat().st_size > 0
    crossovers = (folder / "crossovers.md").read_text()
    assert "#### Hopper-v5, gpo, state space crossover" in crossovers
    state, param = crossovers.split("#### Hopper-v5, gpo-param-crossover")[0], crossovers.split("param")[-1]
    assert "| 0 | 4 | 8 | 100 | 100 | +0 ± 0 | +10 ± 0 | 1.00 | 0.50 | 0.800 | 0.200 | 115 | +15 |" in state
    assert "π_H" not in param  # no column where no run recorded a hybrid
    curves = pd.read_parquet(folder / "curves.parquet")
    assert list(curves.columns[:7]) == ["suite", "algo", "env", "seed", "env_steps", "metric", "value"]
    assert curves["env_steps"].nunique() == 100  # one grid for every run
    assert (curves["total_env_steps"] == 2 * curves["env_steps"]).all()


def test_a_run_of_another_configuration_is_left_out_and_reported(tmp_path, capsys):
    path, suite, results = write_study(tmp_path)
    other = suite.narrowed(steps_per_policy=70000).runs()[0]
    write_json(
        suite.runs()[0].folder(results) / "run.json", {"status": "done", "config": other.configuration()}
    )
    study = load_study(suite, results)
    assert study.other_config == [suite.runs()[0].name]
    assert main(["aggregate", "--suite", str(path), "--results", str(results)]) == 0
    assert "another configuration" in capsys.readouterr().err


def test_run_refuses_to_replace_a_finished_run_of_another_configuration(tmp_path, capsys):
    results = tmp_path / "results"
    suite = load_suite("smoke")
    run, other = suite.runs()[0], suite.narrowed(steps_per_policy=20000).runs()[0]
    write_parquet(run.folder(results) / "curve.parquet", pd.DataFrame({"env_steps": [1]}))
    write_json(run.folder(results) / "run.json", {"status": "done", "config": other.configuration()})
    assert main(["run", "--suite", "smoke", "--results", str(results), "--executor", "debug"]) == 2
    err = capsys.readouterr().err
    assert "holds a finished run with another configuration" in err and err.count("\n") == 1
    assert (run.folder(results) / "curve.parquet").exists()
    assert main(["status", "--suite", "smoke", "--results", str(results)]) == 0
    assert capsys.readouterr().out.startswith(f"other   {run.name}  finished with another configuration")


def test_a_corrupt_file_is_named_exit_2_and_the_rest_still_aggregates(tmp_path, capsys):
    path, suite, results = write_study(tmp_path)
    bad = suite.runs()[0].folder(results) / "curve.parquet"
    bad.write_bytes(b"not parquet")
    assert main(["aggregate", "--suite", str(path), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and err.count("\n") <= 2 and "Traceback" not in err
    runs = pd.read_parquet(results / "synthetic" / "tables" / "runs.parquet")
    assert runs[["algo", "env", "seed"]].drop_duplicates().shape[0] == 4 * 3 * 4 - 2  # unfinished, corrupt


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    path, results, _ = tables_of(tmp_path)
    for args, expected in (
        (["--metric", "best"], "--metric: unknown 'best'; accepted: train, eval"),
        (["--last", "0"], "--last must be >= 1"),
        (["--reference", "ppo"], "--reference: 'ppo' is not in the study"),
    ):
        assert main(["aggregate", "--suite", str(path), "--results", str(results), *args]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1
    (tmp_path / "empty").mkdir()
    assert main(["aggregate", "--suite", "smoke", "--results", str(tmp_path / "empty")]) == 2
    assert "no finished run" in capsys.readouterr().err


def test_the_ledger_lists_each_finished_runs_commit_and_core_seconds_against_the_estimate(tmp_path):
    """run.json's commit, attempt and seconds per finished run, the cost model's estimate beside
    them, and totals in the Markdown; runs without those fields (older runs) stay empty."""
    from bench.analysis.ledger import ledger_markdown
    from bench.runs.planning import StepCosts, run_seconds

    path, suite, results = write_study(tmp_path)
    timed = {("gpo", "Hopper-v5", 0): 120.0, ("joint", "Walker2d-v5", 2): 300.0}
    for run in suite.runs():
        if (run.algo, run.env, run.seed) in timed:
            write_json(
                run.folder(results) / "run.json",
                {
                    "status": "done",
                    "git_commit": "abcdef0123456789",
                    "attempt": 2,
                    "start": "2026-11-26T02:00:00+00:00",
                    "seconds": timed[(run.algo, run.env, run.seed)],
                },
            )
    tables = build_tables(load_study(suite, results))
    ledger = tables.ledger
    assert len(ledger) == len(suite.runs()) - 1  # the unfinished run is not in it
    got = ledger.set_index(["algo", "env", "seed"])
    assert got.loc[("gpo", "Hopper-v5", 0), "commit"] == "abcdef0"
    assert got.loc[("gpo", "Hopper-v5", 0), "attempt"] == 2
    assert got.loc[("joint", "Walker2d-v5", 2), "seconds"] == 300.0
    assert got["seconds"].notna().sum() == 2 and (got["commit"] == "").sum() == len(got) - 2
    costs = StepCosts.shipped()
    for run in suite.runs()[:3]:
        want = sum(run_seconds(run.spec(), costs).values())
        assert got.loc[(run.algo_label, run.env, run.seed), "estimate_seconds"] == pytest.approx(want)
    text = ledger_markdown(ledger)
    runs = [r for r in suite.runs() if (r.algo, r.env, r.seed) in timed]
    both = sum(sum(run_seconds(r.spec(), costs).values()) for r in runs)
    assert "commits: abcdef0" in text and f"core-hours measured: {420 / 3600:.2f} (2 runs timed)" in text
    assert f"estimated: {both / 3600:.2f} for those runs" in text
    assert "| gpo/Hopper-v5/seed0 | abcdef0 | 2 | 2026-11-26 02:00 | 120 |" in text
    assert main(["aggregate", "--suite", str(path), "--results", str(results)]) == 0
    assert (results / "synthetic" / "tables" / "ledger.md").read_text() == text
