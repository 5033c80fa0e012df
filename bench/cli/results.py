"""``gpo-bench aggregate`` and ``plot``: a suite's finished runs as tables and figures."""

from __future__ import annotations

from pathlib import Path

import typer

from bench.cli.app import BadInput, app, results_dir, selected_suite

METRIC_HELP = "train (best member's training return) or eval (deterministic evaluation)"


def chosen_metric(metric: str) -> str:
    from bench.analysis.aggregate import METRICS

    if metric not in METRICS:
        raise BadInput(f"--metric: unknown {metric!r}; accepted: {', '.join(METRICS)}")
    return metric


def study_tables(suite: str, results: Path | None, last: int, reference: str | None):
    """The suite's tables from its finished runs; BadInput if there are none."""
    from bench.analysis.aggregate import AggregateError, build_tables, load_study

    chosen = selected_suite(suite)
    study = load_study(chosen, results_dir(results, must_exist=True))
    try:
        tables = build_tables(study, last, reference)
    except AggregateError as error:
        raise BadInput(str(error)) from None
    if not study.finished and not study.unreadable:
        raise BadInput(f"--suite {chosen.name}: no finished run under {study.results / chosen.name}")
    return tables


def report_left_out(study) -> None:
    """Runs left out go to stderr; an unreadable file is an error (exit 2) naming it."""
    if study.unfinished:
        typer.echo(
            f"left out, not finished: {len(study.unfinished)} runs ({study.unfinished[0]}, ...)", err=True
        )
    if study.other_config:
        typer.echo(
            f"left out, run.json records another configuration than the suite: "
            f"{len(study.other_config)} runs ({study.other_config[0]}, ...)",
            err=True,
        )
    if study.unreadable:
        path, reason = study.unreadable[0]
        raise BadInput(
            f"unreadable result file {path} ({reason}); "
            f"{len(study.unreadable)} such, the other runs were used"
        )


@app.command("aggregate")
def aggregate_command(
    suite: str = typer.Option(..., help="a shipped suite's name or a TOML file's path"),
    results: Path = typer.Option(None, help="results folder (default ./results or $GPO_BENCH_RESULTS)"),
    metric: str = typer.Option("eval", help=f"metric to print: {METRIC_HELP}; the files hold both"),
    last: int = typer.Option(5, help="final return = mean of the last N points of the 100-point grid"),
    reference: str = typer.Option(None, help="algorithm compared with every other (default: gpo)"),
) -> int:
    """Build a suite's tables (curves, finals, across tasks, against the paper) and print them."""
    from bench.analysis.aggregate import write_tables
    from bench.analysis.report import markdown

    metric = chosen_metric(metric)
    tables = study_tables(suite, results, last, reference)
    if tables.study.finished:
        folder = write_tables(tables)
        for name in ("final", "overall", "paper"):
            frame = getattr(tables, name)
            if not frame.empty and (frame.metric == metric).any():
                typer.echo(markdown(name, frame[frame.metric == metric]))
        typer.echo(f"tables: {folder}")
    report_left_out(tables.study)
    return 0


@app.command()
def plot(
    suite: str = typer.Option(..., help="a shipped suite's name or a TOML file's path"),
    results: Path = typer.Option(None, help="results folder (default ./results or $GPO_BENCH_RESULTS)"),
    metric: str = typer.Option("eval", help=METRIC_HELP),
    band: str = typer.Option("ci", help="ci (mean, 95% t-interval) or iqr (median, interquartile range)"),
    task: str = typer.Option(
        None, help="one task for the members figure (default: a panel per task with two algorithms' members)"
    ),
    last: int = typer.Option(5, help="final return = mean of the last N points of the 100-point grid"),
    reference: str = typer.Option(None, help="algorithm compared with every other (default: gpo)"),
    out: Path = typer.Option(None, help="folder for the figures (default <results>/<suite>/figures)"),
) -> int:
    """Draw a suite's figures (PNG and PDF): learning curves, final returns, the paper's others."""
    from bench.analysis.plot import make_figures, save_figures

    metric = chosen_metric(metric)
    tables = study_tables(suite, results, last, reference)
    if tables.study.finished:
        try:
            figures = make_figures(tables, metric, band, task)
        except ValueError as error:
            raise BadInput(str(error)) from None
        strip, note = frames_figure(tables, task)
        if strip is not None:
            figures[strip[0]] = strip[1]
        folder = out or tables.study.results / tables.study.suite.name / "figures"
        paths = save_figures(figures, folder)
        typer.echo(f"{len(paths)} files in {folder}: {', '.join(sorted(figures))}")
        if note:
            typer.echo(f"frame strip: {note}", err=True)
    report_left_out(tables.study)
    return 0


STRIP_FRAMES = 6


def frames_figure(tables, task: str | None):
    """((name, figure) or None, a note): frames of the best policy of each algorithm on ``task``
    (default: the suite's first task), among finished runs that saved policies."""
    import tempfile

    import numpy as np

    from bench.artifacts.policies import POLICIES_FILE
    from bench.artifacts.video import RenderError, render_in_child
    from bench.runs.results import read_run
    from figures.frames import frame_strip

    study = tables.study
    task = task or study.suite.envs[0]
    best: dict[str, tuple[float, Path]] = {}
    for r in study.finished:
        folder = r.folder(study.results)
        if r.env != task or not (folder / POLICIES_FILE).exists():
            continue
        value = ((read_run(folder) or {}).get("final") or {}).get("eval_return")
        value = float("-inf") if value is None else float(value)
        if r.algo_label not in best or value > best[r.algo_label][0]:
            best[r.algo_label] = (value, folder)
    if not best:
        return None, f"no finished run on {task} saved its policies (runs before policies.pt have none)"
    labels = sorted(best)
    with tempfile.TemporaryDirectory() as tmp:
        job = {
            "kind": "strip",
            "runs": [str(best[label][1]) for label in labels],
            "count": STRIP_FRAMES,
            "width": 240,
            "height": 240,
            "out": str(Path(tmp) / "strips.npy"),
        }
        try:
            answer = render_in_child(job)
        except RenderError as error:
            return None, str(error)
        strips = np.load(job["out"])
    returns = [a["return"] for a in answer["answers"]]
    names = [f"{label}\n(return {value:.1f})" for label, value in zip(labels, returns)]
    return (f"frames-{task}", frame_strip(strips, names, task)), None
