"""The ``gpo-bench`` application: its Typer app, the helpers its commands share, and the entry
points (``main``, ``cli``). Bad input exits 2 with one line on stderr."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from typer.exceptions import TyperException

from bench.runs import settings
from gpo.core import kernels

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
    import gymnasium as gym  # the Hilly tasks are registered: importing bench registered them

    if env_id not in gym.registry:
        from bench.envs import HILLY, retired_version_error

        if reason := retired_version_error(env_id):  # e.g. a retired gpo_bench/*Hilly-v0
            raise BadInput(f"--env: {reason}")
        mujoco = sorted(
            k for k, spec in gym.registry.items() if "mujoco" in str(spec.entry_point) and k.endswith("-v5")
        )
        raise BadInput(
            f"--env: unknown environment {env_id!r}; MuJoCo tasks: {', '.join(mujoco + sorted(HILLY))}"
        )


TENSORBOARD_HELP = "also write TensorBoard event files under each run's folder (or GPO_BENCH_TENSORBOARD=1)"
PROGRESS_HELP = "seconds between progress lines when stdout is not a terminal (default 30)"


def progress_interval(seconds: float | None) -> float:
    if seconds is None:
        seconds = settings.seconds("GPO_BENCH_PROGRESS_SECONDS")
    if seconds <= 0:
        raise BadInput(f"--progress-seconds must be > 0, got {seconds}")
    return seconds


def check_tensorboard(wanted: bool) -> None:
    if wanted:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise BadInput(
                "--tensorboard needs the tensorboard package: pip install 'gpo-bench[tensorboard]'"
            ) from None


def default_workers(runs: int) -> int:
    """The cores this process may use (each run is single-threaded), capped by the runs."""
    from bench.runs.cores import usable_cores

    return max(1, min(usable_cores(), runs))


EXECUTORS = ("local", "debug", "slurm")


def results_dir(results: Path | None, must_exist: bool = False) -> Path:
    folder = results or Path(settings.path("GPO_BENCH_RESULTS", "results"))
    if must_exist and not folder.is_dir():
        raise BadInput(f"--results: no results folder {folder} (give the folder `gpo-bench run` wrote into)")
    return folder


def selected_suite(
    suite: str,
    algo: list[str] | None = None,
    env: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
    any_size: bool = False,
):
    from bench.runs.suite import SuiteError, load_suite

    try:
        return load_suite(suite).narrowed(algo, env, seeds, steps, any_size)
    except SuiteError as error:
        raise BadInput(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point: click's usage errors, ours, and paths that cannot be read or written become
    one line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        settings.check_all()
        result = command.main(args=argv, prog_name="gpo-bench", standalone_mode=False)
    except typer.Abort:
        print("gpo-bench: aborted", file=sys.stderr)
        return 130
    except (TyperException, BadInput, settings.SettingError) as error:
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        print(f"gpo-bench: error: {' '.join(message.split())}", file=sys.stderr)
        return 2
    except OSError as error:  # a --results or --out path that cannot be read or written
        where = f": {error.filename}" if error.filename else ""
        print(f"gpo-bench: error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


def cli() -> None:
    """Console-script wrapper: exit with :func:`main`'s code. If something loaded NumPy or torch
    before ``gpo`` could pin their kernels (a sitecustomize, say), the command starts again once,
    in a process that inherits the pinned environment (``gpo.core.kernels``)."""
    if kernels.state().restart_pins and not os.environ.get(RESTARTED):
        os.environ[RESTARTED] = "1"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, sys.orig_argv)
    raise SystemExit(main())


RESTARTED = "_GPO_BENCH_PINNED_RESTART"  # set in the restarted process: restart once at most
