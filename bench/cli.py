"""``gpo-bench``: the command-line tool. Bad input exits 2 with one line on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.exceptions import TyperException

from bench.algorithms import ALGORITHMS
from bench.results import is_done

app = typer.Typer(
    help="Seeded GPO and baseline runs on gymnasium's MuJoCo tasks.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _group() -> None:
    """Seeded GPO and baseline runs on gymnasium's MuJoCo tasks."""


class BadInput(Exception):
    """Input the user can fix; reported as one line with exit code 2."""


def known_env(env_id: str) -> None:
    import gymnasium as gym

    import bench.envs  # noqa: F401  (registers the Hilly tasks)

    if env_id not in gym.registry:
        mujoco = sorted(
            k for k, spec in gym.registry.items() if "mujoco" in str(spec.entry_point) and k.endswith("-v5")
        )
        raise BadInput(f"--env: unknown environment {env_id!r}; MuJoCo tasks: {', '.join(mujoco)}")


@app.command()
def train(
    algo: str = typer.Option("ppo", help=f"one of {', '.join(ALGORITHMS)}"),
    env: str = typer.Option("InvertedPendulum-v5", help="a gymnasium environment id"),
    steps: int = typer.Option(50_000, help="env-step budget per policy"),
    seed: int = typer.Option(0, help="the one seed that fixes everything"),
    population: int = typer.Option(8, help="m, for GPO, Single and Joint"),
    rounds: int = typer.Option(12, help="GPO's rounds (the paper: 12)"),
    workers: int = typer.Option(1, help="worker processes for a population's members"),
    out: Path = typer.Option(Path("results/train"), help="folder for curve.parquet and run.json"),
    force: bool = typer.Option(False, "--force", help="overwrite a finished run"),
) -> None:
    """Run one algorithm on one task with one seed and write its results."""
    from bench.runner import run_one

    if algo not in ALGORITHMS:
        raise BadInput(f"--algo: unknown algorithm {algo!r}; accepted: {', '.join(ALGORITHMS)}")
    if steps <= 0:
        raise BadInput(f"--steps must be a positive number of env steps, got {steps}")
    if seed < 0:
        raise BadInput(f"--seed must be >= 0, got {seed}")
    for name, value in (("--population", population), ("--rounds", rounds), ("--workers", workers)):
        if value < 1:
            raise BadInput(f"{name} must be >= 1, got {value}")
    known_env(env)
    if is_done(out) and not force:
        typer.echo(f"{out} holds a finished run; nothing to do (--force overwrites it)")
        return
    try:
        run_one(algo, env, steps, seed, out, population=population, workers=workers, rounds=rounds)
    except ValueError as error:  # configuration rejected on construction
        raise BadInput(str(error)) from None
    typer.echo(f"done: {out}")


@app.command()
def envs() -> None:
    """List the paper's nine tasks and the gymnasium ids they run as."""
    from bench.envs import HILLY, PAPER_TASKS

    for name, env_id in PAPER_TASKS.items():
        note = "  (hilly terrain from the run's seed)" if env_id in HILLY else ""
        typer.echo(f"{name:<24}{env_id}{note}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: click's usage errors and ours become one line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="gpo-bench", standalone_mode=False)
    except typer.Abort:
        print("gpo-bench: aborted", file=sys.stderr)
        return 130
    except (TyperException, BadInput) as error:
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        print(f"gpo-bench: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())


def cli() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    raise SystemExit(main())
