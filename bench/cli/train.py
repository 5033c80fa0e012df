"""``gpo-bench train``: one run, in this process."""

from __future__ import annotations

from pathlib import Path

import typer

from bench.cli.app import (
    PROGRESS_HELP,
    TENSORBOARD_HELP,
    BadInput,
    app,
    check_tensorboard,
    known_env,
    progress_interval,
)
from bench.runs.algorithms import ALGORITHMS, EVAL_EPISODES, EVAL_EVERY_STEPS
from bench.runs.results import CorruptRun, is_done
from gpo.core.policy import TRAINING_DTYPES


@app.command()
def train(
    algo: str = typer.Option("ppo", help=f"one of {', '.join(ALGORITHMS)}"),
    env: str = typer.Option("InvertedPendulum-v5", help="a gymnasium environment id"),
    steps: int = typer.Option(50_000, help="env-step budget per policy"),
    seed: int = typer.Option(0, help="the one seed that fixes everything"),
    population: int = typer.Option(8, help="m, for GPO, Single and Joint"),
    rounds: int = typer.Option(12, help="GPO's rounds (the paper: 12)"),
    workers: int = typer.Option(1, help="worker processes for a population's members"),
    eval_every_steps: int = typer.Option(
        EVAL_EVERY_STEPS,
        help="per-policy env steps between evaluations (and one at the end); 0: none (GPO: phase ends only)",
    ),
    eval_episodes: int = typer.Option(EVAL_EPISODES, help="deterministic episodes per evaluation"),
    training_dtype: str = typer.Option(
        "float64", help=f"precision of the learners' network passes: {' or '.join(TRAINING_DTYPES)}"
    ),
    learner: list[str] = typer.Option(
        None,
        "--learner",
        help="FIELD=VALUE: a learner setting as a suite's [learner] table has it (repeatable)",
    ),
    out: Path = typer.Option(Path("results/train"), help="folder for curve.parquet and run.json"),
    force: bool = typer.Option(False, "--force", help="overwrite a finished run"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help=TENSORBOARD_HELP),
    progress_seconds: float = typer.Option(None, help=PROGRESS_HELP),
) -> None:
    """Run one algorithm on one task with one seed and write its results (a progress bar on a
    terminal, a progress line every --progress-seconds elsewhere)."""
    from bench.runs.lease import RunOwned
    from bench.runs.progress import LiveDisplay, one_decimal
    from bench.runs.results import read_run
    from bench.runs.runner import run_one

    if algo not in ALGORITHMS:
        raise BadInput(f"--algo: unknown algorithm {algo!r}; accepted: {', '.join(ALGORITHMS)}")
    if steps <= 0:
        raise BadInput(f"--steps must be a positive number of env steps, got {steps}")
    if seed < 0:
        raise BadInput(f"--seed must be >= 0, got {seed}")
    for name, value in (
        ("--population", population),
        ("--rounds", rounds),
        ("--workers", workers),
        ("--eval-episodes", eval_episodes),
    ):
        if value < 1:
            raise BadInput(f"{name} must be >= 1, got {value}")
    if eval_every_steps < 0:
        raise BadInput(f"--eval-every-steps must be >= 0 (0: no evaluation), got {eval_every_steps}")
    if training_dtype not in TRAINING_DTYPES:
        raise BadInput(f"--training-dtype: expected {' or '.join(TRAINING_DTYPES)}, got {training_dtype!r}")
    known_env(env)
    from bench.runs.algorithms import build_run
    from bench.runs.planning import size_error

    options = {"population": population, "workers": workers, "rounds": rounds}
    options |= {"eval_every_steps": eval_every_steps, "eval_episodes": eval_episodes}
    options["learner_settings"] = learner_settings(learner or [], algo)
    try:  # the configuration and its size, refused before anything is written
        too_large = size_error(build_run(algo, env, steps, seed, **options, training_dtype=training_dtype))
    except ValueError as error:
        raise BadInput(str(error)) from None
    if too_large is not None:
        raise BadInput(too_large)
    every = progress_interval(progress_seconds)
    check_tensorboard(tensorboard)
    try:
        finished = is_done(out)
    except CorruptRun:
        finished = False  # run_one moves the damaged run aside (one line) and trains afresh
    if finished and not force:
        typer.echo(f"{out} holds a finished run; nothing to do (--force overwrites it)")
        return
    display = LiveDisplay(total_runs=1, finished=0, every=every)

    def show(progress: dict) -> None:
        display.update(f"{algo}/{env}/seed{seed}", progress)
        display.tick()

    try:
        run_one(
            algo,
            env,
            steps,
            seed,
            out,
            force=force,
            listeners=(show,),
            tensorboard=tensorboard,
            population=population,
            workers=workers,
            rounds=rounds,
            eval_every_steps=eval_every_steps,
            eval_episodes=eval_episodes,
            training_dtype=training_dtype,
            learner_settings=options["learner_settings"],
        )
    except ValueError as error:  # configuration rejected on construction
        raise BadInput(str(error)) from None
    except RunOwned as error:
        raise BadInput(f"{error}; not started (a run has one owner at a time)") from None
    finally:
        display.close()
    final = (read_run(out) or {}).get("final", {})
    typer.echo(f"done: {out}  eval return {one_decimal(final.get('eval_return'))}")


def learner_settings(given: list[str], algo: str) -> dict:
    """``--learner FIELD=VALUE`` options as the learner settings of one run, each value read as
    TOML reads it and checked as a suite's ``[learner]`` table is (``bench.runs.suite``)."""
    import tomllib

    from bench.runs.suite import SuiteError, learner_table

    table = {}
    for item in given:
        name, _, value = item.partition("=")
        try:
            table[name.strip()] = tomllib.loads(f"v = {value}")["v"] if name.strip() and value else None
        except tomllib.TOMLDecodeError:
            table[name.strip()] = None
        if table[name.strip()] is None:
            raise BadInput(
                f"--learner: expected FIELD=VALUE with a TOML value (learning_rate=3e-4), got {item!r}"
            )
    try:
        settings = learner_table(table, (algo,))
    except SuiteError as error:
        raise BadInput(f"--learner {str(error).removeprefix('learner.')}") from None
    for name, values in settings:
        if len(values) != 1:
            raise BadInput(f"--learner {name}: one value for one run, got {len(values)}")
    return {name: values[0] for name, values in settings}
