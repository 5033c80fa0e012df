"""``gpo-bench``: the command-line tool. Bad input exits 2 with one line on stderr."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

import typer
from typer.exceptions import TyperException

from bench.runs import settings
from bench.runs.algorithms import ALGORITHMS, EVAL_EPISODES, EVAL_EVERY_STEPS
from bench.runs.results import CorruptRun, is_done, read_run, replay_note
from gpo.core import kernels
from gpo.core.policy import TRAINING_DTYPES

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
        )
    except ValueError as error:  # configuration rejected on construction
        raise BadInput(str(error)) from None
    except RunOwned as error:
        raise BadInput(f"{error}; not started (a run has one owner at a time)") from None
    finally:
        display.close()
    final = (read_run(out) or {}).get("final", {})
    typer.echo(f"done: {out}  eval return {one_decimal(final.get('eval_return'))}")


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


@app.command()
def run(
    suite: str = typer.Option(..., help="a shipped suite's name or a TOML file's path"),
    executor: str = typer.Option("local", help="local (subprocesses), slurm (job arrays) or debug"),
    results: Path = typer.Option(None, help="results folder (default ./results or $GPO_BENCH_RESULTS)"),
    algo: list[str] = typer.Option(None, help="only these algorithms of the suite"),
    env: list[str] = typer.Option(None, help="only these environments of the suite"),
    seeds: int = typer.Option(None, help="seeds 0..N-1 instead of the suite's"),
    steps: int = typer.Option(None, help="per-policy budget instead of the suite's"),
    runs_at_once: int = typer.Option(
        None, help="runs executing at once on this machine (default: the cores this process may use)"
    ),
    workers: int = typer.Option(None, hidden=True, help="the old name of --runs-at-once"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would run, run nothing"),
    force: bool = typer.Option(False, "--force", help="run finished runs again"),
    partition: str = typer.Option(None, help="SLURM partition (default: the cluster's)"),
    time_min: int = typer.Option(24 * 60, help="SLURM time limit per run, minutes"),
    cpus_per_task: int = typer.Option(1, help="SLURM CPUs per run"),
    array_parallelism: int = typer.Option(64, help="SLURM array tasks running at once"),
    max_requeues: int = typer.Option(
        None,
        help="SLURM time limits a run may be requeued after (default: twice what the longest run "
        "needs at --time-min by the cost model, at least 3)",
    ),
    cancel: bool = typer.Option(
        False, "--cancel", help="on Ctrl-C, cancel the SLURM jobs too (default: they keep running)"
    ),
    tensorboard: bool = typer.Option(False, "--tensorboard", help=TENSORBOARD_HELP),
    progress_seconds: float = typer.Option(None, help=PROGRESS_HELP),
) -> int:
    """Launch a suite's runs; finished runs are skipped, failed and damaged ones run again, runs
    another live launcher owns are skipped. Ctrl-C stops local runs (they resume next time)."""
    from bench.runs.launch import Interrupted, SlurmOptions, conflicting, launch, plan, stop_signals_as_ctrl_c

    if executor not in EXECUTORS:
        raise BadInput(f"--executor: unknown {executor!r}; accepted: {', '.join(EXECUTORS)}")
    every = progress_interval(progress_seconds)
    check_tensorboard(tensorboard)
    if workers is not None:  # `train --workers` is member processes; here it always meant runs at once
        if runs_at_once is not None:
            raise BadInput("--workers is the old name of --runs-at-once: give one of them")
        typer.echo("note: `run --workers` is now `--runs-at-once` (runs executing at once)", err=True)
        runs_at_once = workers
    workers = runs_at_once
    for flag, value in (
        ("--runs-at-once", 1 if workers is None else workers),
        ("--time-min", time_min),
        ("--cpus-per-task", cpus_per_task),
        ("--array-parallelism", array_parallelism),
    ):
        if value < 1:
            raise BadInput(f"{flag} must be >= 1, got {value}")
    if max_requeues is not None and max_requeues < 0:
        raise BadInput(f"--max-requeues must be >= 0 (0: no requeue), got {max_requeues}")
    if executor == "slurm" and shutil.which("sbatch") is None:
        raise BadInput("--executor slurm: no SLURM here (sbatch not found); accepted here: local, debug")
    if executor == "slurm":
        from bench.runs.planning import time_limit_error

        if error := time_limit_error(time_min):
            raise BadInput(error)
    chosen = selected_suite(suite, algo, env, seeds, steps, any_size=dry_run)
    from bench.runs.planning import suite_size_error

    too_large = suite_size_error(chosen.configurations())
    if too_large is not None and not dry_run:  # a dry run prices any size, and says so below
        raise BadInput(too_large)
    from bench.runs.suite import MAX_RUNS

    if dry_run and chosen.size() > MAX_RUNS:
        return price_by_configuration(chosen, too_large)
    results = results_dir(results)
    runs = chosen.runs()
    other = [] if force else conflicting(runs, results)
    if other:
        raise BadInput(
            f"{other[0].folder(results)} holds a finished run with another configuration than "
            f"suite {chosen.name!r} asks for ({len(other)} such); --force replaces them, "
            "or choose another --results folder"
        )
    chosen_plan = plan(runs, results, force)
    todo, kept = chosen_plan.todo, chosen_plan.kept
    if dry_run:
        damaged = {r.name: error for r, error in chosen_plan.corrupt}
        for r in todo:
            note = (
                f"  (damaged: {damaged[r.name].path.name}, would be moved aside)" if r.name in damaged else ""
            )
            typer.echo(f"would run  {r.name}{note}")
        for r, holder in chosen_plan.owned:
            typer.echo(f"owned      {r.name}  (another launcher runs it: {holder.describe()})")
        from bench.runs.planning import StepCosts, core_hours

        costs, which = StepCosts.for_this_machine()
        hours, borrowed = core_hours([r.spec() for r in todo], costs)
        priced = f" (priced as a measured task: {'; '.join(borrowed)})" if borrowed else ""
        typer.echo(f"{len(todo)} to run, {len(kept)} already done; about {hours:.2f} core-hours{priced}")
        if todo:
            typer.echo(layout_line(todo, costs, executor, workers, cpus_per_task, array_parallelism))
        if too_large:
            typer.echo(f"a launch would be refused: {too_large}")
        typer.echo(f"priced with {which}")
        return 0
    from bench.runs.progress import LiveDisplay, read_progress

    total = len(runs)
    if workers is None:
        workers = default_workers(len(todo))
    if tensorboard:
        os.environ["GPO_BENCH_TENSORBOARD"] = "1"  # local jobs and SLURM jobs inherit it
    display = LiveDisplay(total, len(kept), every)

    def progress(kind: str, r, detail: str) -> None:
        if kind == "note":
            display.print(detail)
            return
        if kind in ("done", "failed", "owned", "stopped"):
            display.run_ended(r.name)
        display.print(f"[{display.finished}/{total}] {labelled(kind, r.name)}  {detail}".rstrip())

    def poll(active) -> None:
        for r in active:
            display.update(r.name, read_progress(r.folder(results)))
        display.tick()

    slurm = SlurmOptions(partition, time_min, cpus_per_task, array_parallelism)
    if executor == "slurm" and todo:
        slurm = replace(slurm, max_requeues=requeues_for(todo, time_min, max_requeues))
    try:
        with stop_signals_as_ctrl_c():  # SIGTERM and SIGHUP stop the runs as Ctrl-C does
            report = launch(runs, results, executor, workers, force, progress, slurm, cancel, poll)
    except Interrupted as stop:
        display.close()  # the bars end before the one-line message, never around it
        by = "" if stop.signum == signal.SIGINT else f" by {signal.Signals(stop.signum).name}"
        if stop.left_running:
            typer.echo(
                f"interrupted{by}: {len(stop.left_running)} SLURM jobs keep running (--cancel cancels "
                "them); `gpo-bench status` follows them",
                err=True,
            )
        else:
            names = ", ".join(r.name for r in stop.stopped) or "none"
            typer.echo(
                f"interrupted{by}: stopped {len(stop.stopped)} runs ({names}); "
                "the next `gpo-bench run` resumes them from their checkpoints",
                err=True,
            )
        return 128 + stop.signum  # 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP
    finally:
        display.close()
    owned = f", {len(report.owned)} owned by another launcher" if report.owned else ""
    elsewhere = f", {len(report.elsewhere)} done by another launcher" if report.elsewhere else ""
    stopped = f", {len(report.stopped)} stopped at a time limit" if report.stopped else ""
    typer.echo(
        f"{len(report.done)} done now{elsewhere}, {len(report.skipped)} done before, "
        f"{len(report.failed)} failed{stopped}{owned}"
    )
    for r, log in report.failed:
        typer.echo(f"failed: {r.name}  log: {log}", err=True)
    return 1 if report.failed or report.stopped else 0


def labelled(state: str, name: str) -> str:
    """A run's name after its state in a column of 8 (``requeued`` fills it: a space still)."""
    return f"{state:<8}{' ' if len(state) >= 8 else ''}{name}"


def price_by_configuration(chosen, refusal: str | None) -> int:
    """``--dry-run`` of a suite larger than one launch plans: its price from each configuration's
    cost times its seeds (a run's cost never depends on its seed), without listing its runs or
    looking for finished ones."""
    from bench.runs.planning import StepCosts, run_seconds
    from bench.runs.suite import MAX_RUNS

    costs, which = StepCosts.for_this_machine()
    seconds = sum(sum(run_seconds(r.spec(), costs).values()) * n for r, n in chosen.configurations())
    typer.echo(
        f"{chosen.size():,} runs, more than the {MAX_RUNS:,} one launch plans: priced by configuration, "
        f"finished runs not looked for; about {seconds / 3600:,.2f} core-hours"
    )
    typer.echo(f"a launch would be refused: {refusal or f'more than {MAX_RUNS:,} runs'}")
    typer.echo(f"priced with {which}")
    return 0


def layout_line(todo, costs, executor: str, workers: int | None, cpus: int, parallel: int) -> str:
    """The wall time ``todo`` would take as ``run`` would lay it out (bench.runs.cores)."""
    from bench.runs.cores import local_share, member_workers, usable_cores
    from bench.runs.planning import run_seconds, wall_hours

    seconds = [sum(run_seconds(r.spec(), costs).values()) for r in todo]
    if executor == "slurm":
        hours = wall_hours(
            seconds, parallel, parallel * cpus, lambda i, spare, n: member_workers(todo[i], cpus)
        )
        return (
            f"wall time about {hours:.1f} h with {min(parallel, len(todo))} array tasks at once of "
            f"{cpus} CPUs each (a run uses up to one per member), plus the queue's waits"
        )
    machine = usable_cores()
    slots = max(1, workers or min(machine, len(todo)))
    hours = wall_hours(
        seconds, slots, machine, lambda i, spare, n: member_workers(todo[i], local_share(spare, n))
    )
    return f"wall time about {hours:.1f} h on this machine's {machine} cores, {slots} runs at once"


def requeues_for(todo, time_min: int, asked: int | None) -> int:
    """The requeues a SLURM launch allows: ``asked``, or twice what its longest run needs at
    ``time_min`` by the cost model (at least submitit's 3). Warns, before anything is submitted,
    when ``asked`` is fewer than a run needs."""
    from bench.runs.planning import StepCosts, attempts_needed

    costs, _ = StepCosts.for_this_machine()
    needs = {r.name: attempts_needed(r.spec(), time_min, costs) for r in todo}
    longest = max(needs, key=needs.get)
    needed = needs[longest] - 1
    if asked is None:
        return max(3, 2 * needed)
    if asked < needed:
        typer.echo(
            f"warning: at --time-min {time_min}, {longest} needs about {needs[longest]} attempts by the "
            f"cost model; --max-requeues {asked} allows {asked + 1}, so runs may stop at the limit "
            "(`gpo-bench run` resumes them)",
            err=True,
        )
    return asked


@app.command()
def status(
    suite: str = typer.Option(..., help="a shipped suite's name or a TOML file's path"),
    results: Path = typer.Option(None, help="results folder (default ./results or $GPO_BENCH_RESULTS)"),
    watch: bool = typer.Option(False, "--watch", help="refresh in place until Ctrl-C"),
    interval: float = typer.Option(2.0, help="seconds between refreshes with --watch"),
) -> int:
    """Every run of a suite: done, running (percent, ETA, latest return, heartbeat age), stalled
    (its heartbeat went stale), failed (with its error), corrupt (with the file), other
    (configuration) or missing; then a summary line with the suite's ETA."""
    results = results_dir(results, must_exist=True)
    chosen = selected_suite(suite)
    if interval <= 0:
        raise BadInput(f"--interval must be > 0 seconds, got {interval}")
    if not watch:
        typer.echo("\n".join(status_lines(chosen, results)))
        return 0
    try:
        while True:
            lines = status_lines(chosen, results)
            typer.echo("\033[H\033[J" + "\n".join(lines) + f"\n(every {interval:g} s; Ctrl-C stops)")
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


def status_lines(chosen, results: Path) -> list[str]:
    from bench.runs.lease import live_owner
    from bench.runs.progress import describe, duration, one_decimal, read_progress, stall_seconds
    from bench.runs.results import read_run

    lines, counts, left, rates, elsewhere = [], {}, 0, [], []
    for r in chosen.runs():
        folder = r.folder(results)
        finished = r.finished(results)  # verifies the run's checksums once
        damage = r.corruption(results) if finished == "corrupt" else None
        record = None if damage and damage.path.name == "run.json" else read_run(folder)
        budget = r.spec().env_steps
        progress = read_progress(folder) if record and record.get("status") == "running" else None
        if damage is not None:
            state, detail = (
                "corrupt",
                f"{damage.path}: {damage.reason} (`gpo-bench run` moves it aside and reruns)",
            )
        elif finished == "other":
            state, detail = "other", "finished with another configuration than the suite's (--force: rerun)"
        elif finished == "done":
            if note := replay_note(record):
                elsewhere.append((r.name, note))
            workers = int(record.get("workers") or 1)
            on = f"  ({workers} workers)" if workers > 1 else ""
            state, detail = (
                "done",
                f"eval return {one_decimal(record.get('final', {}).get('eval_return'))}{on}",
            )
        elif record is None:
            state, detail = "missing", ""
        elif record.get("status") == "failed":
            state, detail = "failed", f"{record.get('error', '')}  log: {record.get('log') or '-'}"
        elif record.get("status") == "requeued":
            state, detail = (
                "requeued",
                f"attempt {record.get('attempt')} reached SLURM's time limit at "
                f"{int(record.get('env_steps') or 0):,} of {budget:,} env steps; pending since "
                f"{str(record.get('requeued', '?'))[:16].replace('T', ' ')} (job {record.get('job_id')}), "
                "resumes from its checkpoint on its own",
            )
        elif record.get("status") == "stopped":
            state, detail = (
                "stopped",
                f"SLURM's time limit ended all {record.get('attempt')} attempts, at "
                f"{int(record.get('env_steps') or 0):,} of {budget:,} env steps; `gpo-bench run` resumes it",
            )
        elif progress is not None and progress["age"] <= stall_seconds():
            holder = live_owner(folder)
            owner = f", {holder.host} pid {holder.pid}" if holder else ""
            job = f" job {progress['job_id']}" if progress.get("job_id") else ""
            workers = int(record.get("workers") or 1)
            on = f"; {workers} workers" if workers > 1 else ""
            state, detail = (
                "running",
                f"{describe(progress)}; heartbeat {progress['age']:.0f} s ago{owner}{job}{on}",
            )
            rates.append(progress.get("steps_per_second") or 0.0)
        else:
            age = f"heartbeat {duration(progress['age'])} old" if progress else "no heartbeat"
            held = live_owner(folder)
            gone = "its process is hung" if held else "its process is gone"
            state, detail = "stalled", f"{age}; {gone} (`gpo-bench run` resumes it from its checkpoint)"
        if state not in ("done", "other"):
            reached = progress["env_steps"] if progress and state == "running" else 0
            if state in ("requeued", "stopped"):  # checkpointed at its time limit: resumes from there
                reached = int(record.get("env_steps") or 0)
            left += budget - reached
        counts[state] = counts.get(state, 0) + 1
        lines.append(f"{labelled(state, r.name)}  {detail}".rstrip())
    order = ("done", "running", "requeued", "stalled", "stopped", "failed", "missing", "corrupt", "other")
    summary = ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))
    running = counts.get("running", 0)
    if left and running and any(rates):
        per_run = sum(rates) / len(rates)
        summary += f"; suite ETA {duration(left / (per_run * running))} on the {running} cores it has"
    elif left:
        summary += f"; {left:,} env steps left, none running"
    lines.append(f"{len(lines)} runs: {summary}")
    if elsewhere:
        name, note = elsewhere[0]
        lines.append(
            f"note: {len(elsewhere)} of {counts['done']} finished runs were computed at other kernels than "
            f"this process's, so `evaluate` and `video` may give other numbers here (first, {name}: {note})"
        )
    return lines


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


@app.command("evaluate")
def evaluate_command(
    run: Path = typer.Option(..., help="a finished run's folder"),
    episodes: int = typer.Option(
        None, help="episodes per member (default: as many as the run's own evaluation)"
    ),
    member: str = typer.Option("best", help="best, all, or a member's index"),
    seed: int = typer.Option(
        None, help="reset seed of the first episode (default: the run's own evaluation seed)"
    ),
) -> int:
    """Evaluate a finished run's saved policies: mean ± std return and length per member."""
    import numpy as np

    from bench.artifacts.policies import NoPolicies, evaluate_policy, load_policies

    if episodes is not None and episodes < 1:
        raise BadInput(f"--episodes must be >= 1, got {episodes}")
    try:
        policies = load_policies(run, member)
    except NoPolicies as error:
        raise BadInput(str(error)) from None
    except ValueError as error:
        raise BadInput(f"--member: {error}") from None
    say_replay(run)
    typer.echo(f"{policies[0].algo} on {policies[0].env_id}, {run}")
    typer.echo("| member | episodes | seed | return mean ± std | length mean ± std |")
    typer.echo("|---|---|---|---|---|")
    for policy in policies:
        n = episodes or policy.eval_episodes
        start = policy.eval_seed if seed is None else seed
        returns, lengths = evaluate_policy(policy, n, start)
        name = f"{policy.member}{' (best)' if policy.is_best else ''}"
        typer.echo(
            f"| {name} | {n} | {start} | {np.mean(returns):.1f} ± {np.std(returns):.1f} "
            f"| {np.mean(lengths):.1f} ± {np.std(lengths):.1f} |"
        )
    return 0


def say_replay(run: Path) -> None:
    """One line on stderr when the run was computed at other kernels than this process's."""
    try:
        record = read_run(run) or {}
    except CorruptRun:
        return
    if note := replay_note(record):
        typer.echo(f"note: {run} was {note}", err=True)


@app.command()
def video(
    run: Path = typer.Option(..., help="a finished run's folder"),
    out: Path = typer.Option(..., help="the MP4 (or, with --gif, GIF) file to write"),
    episodes: int = typer.Option(1, help="episodes to film"),
    member: str = typer.Option("best", help="best or a member's index"),
    seed: int = typer.Option(None, help="reset seed (default: the run's own evaluation seed)"),
    frames: int = typer.Option(None, help="stop after this many frames (default: whole episodes)"),
    width: int = typer.Option(480, help="frame width in pixels"),
    height: int = typer.Option(480, help="frame height in pixels"),
    fps: int = typer.Option(30, help="frames per second"),
    gif: bool = typer.Option(False, "--gif", help="an animated GIF (every second frame) instead of an MP4"),
) -> int:
    """Film a trained policy with MuJoCo's offscreen renderer (EGL, else OSMesa)."""
    from bench.artifacts.policies import NoPolicies, load_policies
    from bench.artifacts.video import RenderError, render_in_child

    for flag, value in (("--episodes", episodes), ("--width", width), ("--height", height), ("--fps", fps)):
        if value < 1:
            raise BadInput(f"{flag} must be >= 1, got {value}")
    if frames is not None and frames < 1:
        raise BadInput(f"--frames must be >= 1, got {frames}")
    if member == "all":
        raise BadInput("--member: a video films one policy: best or a member's index")
    try:
        load_policies(run, member)
    except NoPolicies as error:
        raise BadInput(str(error)) from None
    except ValueError as error:
        raise BadInput(f"--member: {error}") from None
    say_replay(run)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir() or not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise BadInput(f"--out: cannot write {out} (its folder must exist and be writable)")
    job = {
        "kind": "video",
        "run": str(run),
        "member": member,
        "seed": seed,
        "episodes": episodes,
        "frames": frames,
        "width": width,
        "height": height,
        "fps": fps,
        "gif": gif,
        "out": str(out),
    }
    try:
        answer = render_in_child(job)["answers"][0]
    except RenderError as error:
        raise BadInput(str(error)) from None
    returns = ", ".join(f"{r:.1f}" for r in answer["returns"])
    typer.echo(f"{out}: {answer['frames']} frames, return {returns}")
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())


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
