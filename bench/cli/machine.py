"""``gpo-bench calibrate``, ``suites`` and ``envs``: this machine, the shipped suites and tasks."""

from __future__ import annotations

import typer

from bench.cli.app import BadInput, app


@app.command()
def calibrate(
    steps: int = typer.Option(4096, help="env steps per member measured (more: steadier, slower)"),
) -> None:
    """Fit --dry-run's step costs to this machine: one task's costs measured kind by kind (about
    10 s, on one core of an otherwise idle machine), cached per host and CPU."""
    from bench.artifacts.files import write_json
    from bench.perf.costs import calibrate as measure
    from bench.runs.planning import calibration_path

    if steps < 2048:
        raise BadInput(f"--steps must be >= 2048 (one learner iteration), got {steps}")
    measured = measure(steps)
    path = calibration_path()
    write_json(path, measured)
    factors = ", ".join(f"{k} {v:.2f}x" for k, v in measured["factors"].items())
    typer.echo(f"this machine against the shipped table: {factors}")
    typer.echo(f"cached in {path}; --dry-run prices with it")


@app.command()
def suites() -> None:
    """List the shipped suites."""
    from bench.runs.suite import load_suite, shipped

    for name in sorted(shipped()):
        s = load_suite(name)
        typer.echo(f"{name:<10}{len(s.runs()):>4} runs  {s.description}")


@app.command()
def envs() -> None:
    """List the paper's nine tasks and the gymnasium ids they run as."""
    from bench.envs import HILLY, PAPER_TASKS

    for name, env_id in PAPER_TASKS.items():
        note = "  (hilly terrain from the run's seed)" if env_id in HILLY else ""
        typer.echo(f"{name:<24}{env_id}{note}")
