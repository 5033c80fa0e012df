"""``gpo-bench plot`` on the synthetic study: the figures exist, have the expected panels, lines,
legend entries and titles (matplotlib's objects are inspected, not pixels)."""

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from synthetic_study import BASE, level, write_study

from bench.analysis.aggregate import build_tables, load_study
from bench.analysis.plot import make_figures
from bench.cli import main
from figures.style import colour

ALGOS = list(BASE)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path, suite, results = write_study(tmp_path_factory.mktemp("study"))
    tables = build_tables(load_study(suite, results))
    figures = make_figures(tables, "eval")
    yield path, results, tables, figures
    for fig in figures.values():
        mpl.pyplot.close(fig)


def legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()] + [
        t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]


def test_the_study_gets_every_figure_its_records_allow(study):
    *_, figures = study
    assert set(figures) == {
        "curves-eval",
        "final-eval",
        "profile-eval",
        "crossover-children",
        "crossover-rounds",
        "members-eval",
        "paper-eval",
    }


def test_learning_curves_panel_per_task_line_per_algorithm_shared_legend(study):
    *_, figures = study
    fig = figures["curves-eval"]
    assert [ax.get_title() for ax in fig.axes] == ["Hopper", "HalfCheetah", "Walker2d"]
    assert legend_labels(fig) == ALGOS  # one legend for the figure, none per panel
    assert all(ax.get_legend() is None for ax in fig.axes)
    title = fig._suptitle.get_text()
    assert "mean and 95% t-interval" in title
    # single lacks one Hopper seed: its count is the range over tasks
    note = "seeds per algorithm (of 4): gpo 4, gpo-param-crossover 4, single 3\u20134, joint 4; partial study"
    assert note in title
    hopper = fig.axes[0]
    assert hopper.get_xlabel() == "env steps per policy (millions)" and hopper.get_ylabel() == "return"
    lines = [line for line in hopper.get_lines() if len(line.get_xdata()) > 1]
    assert [mpl.colors.to_hex(line.get_color()) for line in lines] == [colour(a) for a in ALGOS]
    # the mean over seeds at the budget's end: each seed's line ends at its level
    gpo = lines[0]
    x, y = np.asarray(gpo.get_xdata()), np.asarray(gpo.get_ydata())
    assert np.isclose(x[-1], 61440 / 1e6)
    assert np.isclose(y[-1], np.mean([level("gpo", "Hopper-v5", s) for s in range(4)]))
    assert len(hopper.collections) >= len(ALGOS)  # a band per algorithm


def test_the_iqr_band_option_draws_the_median(study):
    _, _, tables, _ = study
    fig = make_figures(tables, "eval", band="iqr")["curves-eval"]
    assert "median and interquartile range" in fig._suptitle.get_text()
    y = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 1][0].get_ydata()
    assert np.isclose(y[-1], np.median([level("gpo", "Hopper-v5", s) for s in range(4)]))
    mpl.pyplot.close("all")


def test_final_returns_and_profile(study):
    *_, figures = study
    final = figures["final-eval"]
    assert [ax.get_title() for ax in final.axes] == ["Hopper", "HalfCheetah", "Walker2d"]
    assert [t.get_text() for t in final.axes[1].get_xticklabels()] == ALGOS
    profile = figures["profile-eval"].axes[0]
    curves = {line.get_label(): np.asarray(line.get_ydata()) for line in profile.get_lines()}
    assert set(curves) == set(ALGOS)
    # gpo is the best run on every task, so its profile lies on or above every other one
    assert all((curves["gpo"] >= curves[a]).all() for a in ALGOS) and curves["gpo"][50] == 1.0


def test_crossover_members_and_paper_figures(study):
    *_, figures = study
    labels = legend_labels(figures["crossover-children"])
    assert "state space (gpo)" in labels and "parameter space (gpo-param-crossover)" in labels
    assert "first parent" in labels
    rounds = figures["crossover-rounds"]
    assert [ax.get_title() for ax in rounds.axes] == ["Hopper", "HalfCheetah", "Walker2d"]
    assert "state space (gpo): child − better parent" in legend_labels(rounds)
    assert "runs (of 4): Hopper gpo 4; Hopper gpo-param-crossover 4;" in rounds._suptitle.get_text()
    lines = [line for line in rounds.axes[2].get_lines() if len(line.get_xdata()) == 2]
    better = np.asarray(lines[0].get_ydata())  # gpo, child − better parent, rounds 0 and 1
    assert np.allclose(better, [0.0, np.mean([-25.0 + 10 * s for s in range(4)])])
    members = figures["members-eval"]
    assert legend_labels(members) == ["gpo", "single"]  # one legend for the figure
    # a panel per task where gpo and single saved members, in the suite's order
    assert [ax.get_title() for ax in members.axes] == ["Hopper", "HalfCheetah", "Walker2d"]
    assert all(ax.get_legend() is None for ax in members.axes)
    paper = figures["paper-eval"]
    assert [ax.get_title() for ax in paper.axes] == [
        "PPO: GPO relative to Single",
        "PPO: GPO relative to Joint",
    ]
    assert [t.get_text() for t in paper.axes[0].get_xticklabels()] == ["Hopper", "HalfCheetah", "Walker2d"]


def test_members_figure_of_one_task_and_its_rank_means(study):
    _, _, tables, _ = study
    fig = make_figures(tables, "eval", task="Walker2d-v5")["members-eval"]
    assert [ax.get_title() for ax in fig.axes] == ["Walker2d"]
    # ranks 1 and 2: each run's members are its level and 50 below; the means are over seeds
    best = np.mean([level("gpo", "Walker2d-v5", s) for s in range(4)])
    means = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) == 2]
    assert any(np.allclose(line.get_ydata(), [best, best - 50]) for line in means)
    mpl.pyplot.close("all")


def test_colours_are_fixed_per_algorithm():
    assert colour("gpo") != colour("single") != colour("joint")
    sizes = [colour(f"gpo-m{m}") for m in (2, 4, 8, 16)]
    assert len(set(sizes)) == 4 and colour("gpo-m4") == colour("gpo-m4")


def test_plot_writes_png_and_pdf_and_a_corrupt_file_is_exit_2(tmp_path, capsys):
    path, suite, results = write_study(tmp_path)
    bad = suite.runs()[5].folder(results) / "curve.parquet"
    bad.write_bytes(b"PAR1 truncated")
    assert main(["plot", "--suite", str(path), "--results", str(results), "--metric", "train"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gpo-bench: error")]
    assert len(errors) == 1 and str(bad) in errors[0]
    folder = results / "synthetic" / "figures"
    for name in ("curves-train", "final-train", "profile-train", "crossover-children", "members-train"):
        assert (folder / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (folder / f"{name}.pdf").read_bytes()[:4] == b"%PDF"


def test_plot_bad_options_are_one_line_errors(tmp_path, capsys):
    path, _, results = write_study(tmp_path)
    for args, expected in (
        (["--band", "sd"], "--band: unknown 'sd'; accepted: ci, iqr"),
        (["--task", "Ant-v5"], "--task: 'Ant-v5' is not in suite"),
        (["--metric", "x"], "--metric: unknown 'x'"),
    ):
        assert main(["plot", "--suite", str(path), "--results", str(results), *args]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count("\n") == 1
    assert not (results / "synthetic" / "figures").exists()  # nothing half-written
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    for argv in (
        ["plot", "--suite", str(path), "--results", str(results), "--out", str(not_a_folder)],
        ["aggregate", "--suite", str(path), "--results", str(not_a_folder)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("gpo-bench: error: ") and str(not_a_folder) in err and err.count("\n") == 1


def test_population_sizes_share_the_per_policy_axis(tmp_path):
    """The popsize suite's figure (the paper's Figure 6): a line per m, all ending at the budget
    per policy though m = 4 used twice the env steps of m = 2."""
    import pandas as pd

    from bench.runs.results import write_json, write_parquet
    from bench.runs.suite import load_suite

    path = tmp_path / "sizes.toml"
    path.write_text(
        'algorithms = ["gpo"]\nenvs = ["Hopper-v5"]\nseeds = 2\nsteps_per_policy = 61440\n'
        "population = [2, 4]\nrounds = 2\n"
    )
    suite = load_suite(str(path))
    results = tmp_path / "results"
    for run in suite.runs():
        per_policy = np.linspace(2048, 61440, 30)
        curve = pd.DataFrame(
            {
                "env_steps": (per_policy * run.population).astype(int),
                "return_mean": per_policy / 100,
                "return_best": per_policy * run.population / 100,
                "eval_return": per_policy * run.population / 100,
            }
        )
        write_parquet(run.folder(results) / "curve.parquet", curve)
        write_json(run.folder(results) / "run.json", {"status": "done"})
    tables = build_tables(load_study(suite, results))
    ends = tables.curves.groupby("algo")[["env_steps", "total_env_steps"]].max()
    assert ends.loc["gpo-m2", "env_steps"] == ends.loc["gpo-m4", "env_steps"] == 61440
    assert ends.loc["gpo-m4", "total_env_steps"] == 2 * ends.loc["gpo-m2", "total_env_steps"]
    fig = make_figures(tables, "train")["curves-train"]
    assert legend_labels(fig) == ["gpo-m2", "gpo-m4"]
    assert (
        "(of 2): gpo-m2 2, gpo-m4 2" in fig._suptitle.get_text() and "partial" not in fig._suptitle.get_text()
    )
    lines = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 1]
    assert np.isclose(lines[1].get_ydata()[-1], 2 * lines[0].get_ydata()[-1])  # m = 4 twice as high
    mpl.pyplot.close("all")


def test_task_names_follow_one_rule_in_panels_and_tables():
    from figures.style import task_name

    assert [task_name(e) for e in ("Hopper-v5", "InvertedPendulum-v5", "Pendulum-v1")] == [
        "Hopper",
        "InvertedPendulum",
        "Pendulum",
    ]
    assert task_name("gpo_bench/HalfCheetahHilly-v1") == "HalfCheetah-Hilly"
    assert task_name("Ant-v5") == "Ant"


def bands_of(points: dict[str, int], seeds: int = 3):
    import pandas as pd

    frames = []
    for algo, n in points.items():
        x = np.linspace(1, 10, n) * 1000
        frames.append(
            pd.DataFrame(
                {"algo": algo, "env": "InvertedPendulum-v5", "env_steps": x, "centre": x / 100}
                | {"low": x / 100 - 1 if seeds > 1 else np.nan, "high": x / 100 + 1 if seeds > 1 else np.nan}
                | {"seeds": seeds}
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_a_series_of_few_points_is_marked_where_it_is_drawn_and_in_the_legend():
    from figures.curves import learning_curves

    fig = learning_curves(
        bands_of({"gpo": 60, "single": 1}), "eval", "ci", ["InvertedPendulum-v5"], ["gpo", "single"], ""
    )
    ax = fig.axes[0]
    assert ax.get_title() == "InvertedPendulum"
    drawn = {line.get_label(): line for line in ax.get_lines()}
    assert drawn["single"].get_marker() == "o" and drawn["single"].get_markersize() >= 6
    assert drawn["gpo"].get_marker() in (None, "None", "")
    handles = {h.get_label(): h for legend in fig.legends for h in legend.legend_handles}
    assert handles["single"].get_marker() == "o" and handles["gpo"].get_marker() in (None, "None", "")
    mpl.pyplot.close(fig)


def test_one_seed_promises_and_draws_no_interval():
    from figures.curves import learning_curves

    fig = learning_curves(bands_of({"gpo": 60}, seeds=1), "eval", "ci", ["InvertedPendulum-v5"], ["gpo"], "")
    title = fig._suptitle.get_text()
    assert "no interval" in title and "95%" not in title
    mpl.pyplot.close(fig)


def test_the_same_tables_give_the_same_figure_files_byte_for_byte(study, tmp_path):
    from bench.analysis.plot import save_figures

    _, _, tables, _ = study
    written = []
    for copy in ("a", "b"):
        paths = save_figures(make_figures(tables, "eval"), tmp_path / copy)
        written.append({p.name: p.read_bytes() for p in paths})
    assert written[0].keys() == written[1].keys() and len(written[0]) >= 14
    assert [name for name in written[0] if written[0][name] != written[1][name]] == []


def test_the_paper_figure_shows_every_task_and_names_long_and_unbounded_intervals():
    from figures.paper import paper_vs_ours

    inf = np.inf
    table = pd.DataFrame(
        {
            "task": ["A", "B", "C"],
            "metric": "eval",
            "learner": "ppo",
            "gpo_over_single": [0.9, 4.8, 0.5],
            "gpo_over_single_ci_low": [0.8, -0.9, -inf],  # B: a wide interval; C: unbounded
            "gpo_over_single_ci_high": [1.0, 12.6, inf],
            "paper_gpo_over_single": [2.7, 3.4, 1.9],
            "gpo_over_joint": [0.8, 0.02, 1.3],
            "gpo_over_joint_ci_low": [0.76, -0.01, 0.8],
            "gpo_over_joint_ci_high": [0.88, 0.05, 3.3],
            "paper_gpo_over_joint": [1.8, 1.1, 1.0],
        }
    )
    fig = paper_vs_ours(table, "eval")
    single = fig.axes[0]
    low, high = single.get_ylim()
    assert high < 12.6 and low > -0.9 and high > 4.8  # sized to the ratios, not B's interval
    assert {"12.6", "-0.9"} <= {t.get_text() for t in single.texts}  # the clipped ends, written
    assert legend_labels(fig) == [
        "paper",
        "ours (95% Fieller interval)",
        "interval past the axis (its end written)",
        "interval unbounded: any ratio",
    ]
    mpl.pyplot.close("all")
