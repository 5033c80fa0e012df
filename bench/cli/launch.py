"""``gpo-bench run`` and ``status``: a suite's runs launched (locally or on SLURM) and followed."""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path

import typer

from bench.cli.app import (
    EXECUTORS,
    PROGRESS_HELP,
    TENSORBOARD_HELP,
    BadInput,
    app,
    check_tensorboard,
    default_workers,
    progress_interval,
    results_dir,
    selected_suite,
)
from bench.runs.results import replay_note


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
    if executor == "slurm" and too_large is None:
        from bench.runs.planning import StepCosts, safe_point_error

        if error := safe_point_error(
            chosen.configurations(), time_min, cpus_per_task, StepCosts.for_this_machine()[0]
        ):
            raise BadInput(error)
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
