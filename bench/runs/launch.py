"""Launching a suite's runs through submitit, on this machine.

- ``local`` (default): submitit's local executor, one subprocess per run. It has no array
  parallelism of its own, so at most ``workers`` runs execute at once: the tool submits a new one
  when one finishes.
- ``debug``: submitit's debug executor, every run in this process one after the other.
- ``slurm``: submitit's SLURM executor, one job array per call (one array task per run), split
  into several arrays when there are more runs than the cluster's ``MaxArraySize`` (read from
  ``scontrol show config``); ``array_parallelism`` caps the tasks running at once.

Runs already done are skipped unless ``force``; failed or unfinished ones run again. A run's
``run.json`` records the submitit job id and the path of its log. A run that another live
launcher owns (``bench.runs.lease``) is skipped and reported; a run whose files are damaged is moved
aside (``<folder>.corrupt-<time>``) and run again.

Ctrl-C: local jobs are started with SIGINT ignored (so the terminal's Ctrl-C reaches only this
process, not submitit's controllers, which would print their tracebacks); on KeyboardInterrupt
the local jobs' process trees are killed and ``Interrupted`` names the runs, which resume from
their checkpoints on the next launch. SLURM jobs keep running unless ``cancel``. SIGTERM (``kill``,
``timeout``) and SIGHUP (a closed terminal or ssh connection) do what Ctrl-C does
(:func:`stop_signals_as_ctrl_c`); local jobs ignore SIGHUP as they ignore SIGINT, so that the
launcher, not the terminal, stops them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import submitit

from bench.runs import cores, preemption, settings
from bench.runs.lease import Owner, RunOwned, live_owner
from bench.runs.quiet import quiet_stderr
from bench.runs.results import CorruptRun, done_record, quarantine, read_run
from bench.runs.runner import run_one
from bench.runs.suite import Run

POLL_SECONDS = 0.5


@dataclass
class LaunchReport:
    done: list[Run] = field(default_factory=list)  # trained now, by this launcher's jobs
    elsewhere: list[Run] = field(default_factory=list)  # finished by another launcher meanwhile
    skipped: list[Run] = field(default_factory=list)  # finished before
    failed: list[tuple[Run, str]] = field(default_factory=list)  # with the log's path
    stopped: list[Run] = field(default_factory=list)  # time limits beyond its requeues: resumable
    owned: list[tuple[Run, str]] = field(default_factory=list)  # another live launcher runs it
    repaired: list[tuple[Run, Path]] = field(default_factory=list)  # damaged, moved there, rerun


@dataclass
class Plan:
    todo: list[Run]  # to launch (corrupt ones included)
    kept: list[Run]  # finished and intact
    owned: list[tuple[Run, Owner]]  # another live process is running them
    corrupt: list[tuple[Run, CorruptRun]]  # finished once, files damaged since


def plan(runs: list[Run], results: Path, force: bool) -> Plan:
    """What a launch would do with each run; changes nothing on disk."""
    result = Plan([], [], [], [])
    for run in runs:
        folder = run.folder(results)
        holder = live_owner(folder)
        if holder is not None:
            result.owned.append((run, holder))
            continue
        try:
            finished = done_record(folder) is not None
        except CorruptRun as error:
            result.corrupt.append((run, error))
            finished = False
        if finished and not force:
            result.kept.append(run)
        else:
            result.todo.append(run)
    return result


def pending(runs: list[Run], results: Path, force: bool) -> tuple[list[Run], list[Run]]:
    """(runs to launch, runs already done and kept)."""
    chosen = plan(runs, results, force)
    return chosen.todo, chosen.kept


def conflicting(runs: list[Run], results: Path) -> list[Run]:
    """Runs whose folder holds a finished run of another configuration (another budget,
    population or rounds): launching would replace a finished result, so only --force may."""
    return [r for r in runs if r.finished(results) == "other"]


class RunJob(submitit.helpers.Checkpointable):
    """The job: one run into its folder. As a submitit Checkpointable, a job that SLURM preempts
    or times out is requeued with the same arguments, and the run resumes from its checkpoint."""

    def __call__(self, run: Run, results: Path, force: bool = False, workers: int | None = None) -> str:
        return execute_run(run, results, force, workers)


OWNED = "owned by "  # execute_run's answer when another live process owns the run
ELSEWHERE = "done by another launcher: "  # ... when another launcher finished it before this job began


def execute_run(run: Run, results: Path, force: bool = False, workers: int | None = None) -> str:
    """Train the run into its folder: its name; ``OWNED`` + who owns it (another launcher
    claimed it between this launch's check and this job's start); or ``ELSEWHERE`` + its name
    (another launcher finished it before this job could claim it: not trained here). In a SLURM
    job the run trains with the job's CPUs as member workers, else with ``workers`` (1 if None;
    ``bench.runs.cores``)."""
    job_id, log = None, None
    with contextlib.suppress(RuntimeError):  # outside a submitit job (debug executor): no id
        job = submitit.JobEnvironment()
        job_id, log = job.job_id, str(job.paths.stderr)
        if job.cluster == "slurm":  # a time limit or preemption waits for the run's next safe point
            workers = cores.slurm_cpus() or 1
            # the watchdog hands over in time, whatever the warning's lead
            preemption.current.install(max(5.0, settings.seconds("GPO_BENCH_SLURM_SIGNAL_SECONDS") - 30))
    try:
        share = cores.member_workers(run, workers or 1)
    except ValueError:  # the run cannot be built on this host: run_one records why
        share = 1
    try:
        trained = run_one(
            run.algo,
            run.env,
            run.steps_per_policy,
            run.seed,
            run.folder(results),
            extra_record={"job_id": job_id, "log": log, "suite": run.suite},
            force=force,
            **run.options(share),
        )
    except RunOwned as error:
        return OWNED + error.holder.describe()
    return run.name if trained else ELSEWHERE + run.name


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM, SIGHUP: ``signum``) during a launch: local jobs were stopped; ``runs``
    resume from their checkpoints."""

    def __init__(self, stopped: list[Run], left_running: list[Run], signum: int = signal.SIGINT):
        super().__init__(f"{len(stopped)} runs stopped")
        self.stopped, self.left_running, self.signum = stopped, left_running, signum


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the launcher is, to be handled as Ctrl-C is."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signal_handlers(signals, handler):
    """``handler`` for each of ``signals`` within the block, the previous handlers after it
    (outside the main thread, where Python cannot set them: nothing changes)."""
    try:
        previous = {s: signal.signal(s, handler) for s in signals}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for s, before in previous.items():
            signal.signal(s, before)


def _raise_signalled(signum, frame):
    raise Signalled(signum)


def stop_signals_as_ctrl_c():
    """Within the block, SIGTERM and SIGHUP raise :class:`Signalled` (a KeyboardInterrupt), so a
    launcher ended by ``kill``, ``timeout`` or a closed terminal stops its local runs as Ctrl-C
    does, instead of dying and leaving them training."""
    return signal_handlers(STOP_SIGNALS, _raise_signalled)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        below = [c for p in frontier for c in children.get(p, [])]
        found += below
        frontier = below
    return found


def kill_local_job(job) -> None:
    """SIGKILL a submitit local job's controller and everything it started."""
    process = getattr(job, "_process", None)
    if process is None:
        return
    for pid in [*reversed(descendants(process.pid)), process.pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.wait(timeout=10)


def sigint_ignored_in_children():
    """Processes started inside inherit SIGINT and SIGHUP ignored (an ignored signal stays ignored
    across exec, and Python keeps it so), so a terminal's Ctrl-C or hang-up reaches the launcher
    alone, which stops them."""
    return signal_handlers((signal.SIGINT, signal.SIGHUP), signal.SIG_IGN)


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None
    time_min: int = 24 * 60
    cpus_per_task: int = 1
    array_parallelism: int = 64
    max_requeues: int = 3  # time limits a job may be requeued after (submitit's max_num_timeout)


def max_array_size() -> int:
    """The cluster's MaxArraySize (array indices run from 0 to MaxArraySize − 1)."""
    out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True)
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", out.stdout, re.MULTILINE)
    return int(match.group(1)) if match else 1001  # SLURM's default


def slurm_live_jobs() -> set[str]:
    """Ids of the jobs and array tasks SLURM still has (pending or running), one per task."""
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True)
    return set(out.stdout.split()) if out.returncode == 0 else set()


def ended(job, live: set[str] | None) -> bool:
    """A SLURM job that left the queue. Without accounting storage submitit cannot tell that a
    cancelled or killed job ended (it waits for a result file that never comes); the queue can."""
    if live is None or job.job_id in live:
        return False
    time.sleep(POLL_SECONDS)  # a finishing job's result file may land just after it leaves
    return True


def accounting_enabled() -> bool:
    """Whether ``sacct`` answers (a cluster without slurmdbd says accounting is disabled)."""
    if shutil.which("sacct") is None:
        return False
    out = subprocess.run(["sacct", "-n", "-X", "-j", "1"], capture_output=True, text=True)
    return out.returncode == 0 and "disabled" not in out.stderr


def announce_requeues(active, results: Path, announced: dict[str, int], on_event) -> None:
    """Once per attempt, that a run's job was requeued after a time limit or preemption."""
    for run, _ in active:
        record = read_run(run.folder(results)) or {}
        attempt = int(record.get("attempt") or 0)
        if record.get("status") == "requeued" and announced.get(run.name) != attempt:
            announced[run.name] = attempt
            steps = int(record.get("env_steps") or 0)
            on_event(
                "requeued",
                run,
                f"attempt {attempt} reached its time limit at {steps:,} env steps, checkpointed; "
                f"waits in the queue to resume (job {record.get('job_id')})",
            )


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def launch(
    runs: list[Run],
    results: Path,
    executor: str = "local",
    workers: int = 1,
    force: bool = False,
    on_event: Callable[[str, Run, str], None] = lambda kind, run, detail: None,
    slurm: SlurmOptions | None = None,
    cancel: bool = False,
    on_poll: Callable[[list[Run]], None] = lambda active: None,
    machine_cores: int | None = None,
) -> LaunchReport:
    """Run what ``plan`` says; ``on_event`` hears of every start, end and skip, ``on_poll`` gets
    the active runs at every poll (for live progress)."""
    chosen = plan(runs, results, force)
    report = LaunchReport(skipped=chosen.kept)
    for run, holder in chosen.owned:
        report.owned.append((run, holder.describe()))
        on_event("owned", run, f"skipped: another launcher runs it ({holder.describe()})")
    for run, error in chosen.corrupt:
        with contextlib.suppress(FileNotFoundError):  # FileNotFoundError: another launcher moved it
            moved = quarantine(run.folder(results))
            report.repaired.append((run, moved))
            on_event(
                "damaged", run, f"{error.path.name}: {error.reason}; moved to {moved.name}, running again"
            )
    todo = chosen.todo
    if not todo:
        return report
    logs = Path(results) / runs[0].suite / "_logs" / "%j"
    requeues = (
        {"slurm_max_num_timeout": (slurm or SlurmOptions()).max_requeues} if executor == "slurm" else {}
    )
    submitter = submitit.AutoExecutor(folder=logs, cluster=executor, **requeues)
    submitter.update_parameters(timeout_min=60 * 24 * 7, name="gpo-bench")
    queue, active = list(todo), []
    requeued: dict[str, int] = {}  # run name -> the attempt announced as requeued
    next_look = 0.0
    held: dict[str, int] = {}  # local runs executing -> the cores (member workers) each holds
    machine_cores = machine_cores or cores.usable_cores()
    try:
        if executor == "slurm":
            slurm = slurm or SlurmOptions()
            # Without accounting storage, submitit warns on every poll that sacct is unavailable
            # and falls back on its own files, which is all we need.
            logging.getLogger("submitit").setLevel(logging.ERROR)
            if not accounting_enabled():
                on_event(
                    "note",
                    todo[0],
                    "SLURM accounting storage is disabled here: the launcher follows jobs through "
                    "squeue and their result files",
                )
            submitter.update_parameters(
                timeout_min=slurm.time_min,
                slurm_signal_delay_s=int(settings.seconds("GPO_BENCH_SLURM_SIGNAL_SECONDS")),
                cpus_per_task=slurm.cpus_per_task,
                slurm_array_parallelism=slurm.array_parallelism,
                **({"slurm_partition": slurm.partition} if slurm.partition else {}),
            )
            for part in chunks(queue, max_array_size()):
                jobs = submitter.map_array(RunJob(), part, [results] * len(part), [force] * len(part))
                active += list(zip(part, jobs))
                for run in part:
                    on_event("queued", run, "")
            queue = []
        while queue or active:
            while queue and len(active) < max(1, workers):
                run = queue.pop(0)
                # this machine's cores no running run holds, shared by the runs starting now
                spare = max(1, machine_cores - sum(held.values()))
                starting = min(len(queue) + 1, max(1, workers) - len(active))
                share = cores.member_workers(run, cores.local_share(spare, starting))
                held[run.name] = share
                with sigint_ignored_in_children():
                    active.append((run, submitter.submit(RunJob(), run, results, force, share)))
                on_event("started", run, f"{share} workers" if share > 1 else "")
            live = slurm_live_jobs() if executor == "slurm" else None
            with quiet_stderr(executor == "slurm"):  # submitit's sacct complains on every poll
                finished = [(run, job) for run, job in active if job.done() or ended(job, live)]
            if executor == "slurm" and time.monotonic() >= next_look:  # run records: every few seconds
                announce_requeues(active, results, requeued, on_event)
                next_look = time.monotonic() + 5.0
            on_poll([run for run, _ in active])
            if not finished:
                time.sleep(POLL_SECONDS)
                continue
            for run, job in finished:
                active.remove((run, job))
                held.pop(run.name, None)
                collect(run, job, results, report, on_event)
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        running = [run for run, _ in active]
        if executor == "slurm":
            if cancel:
                for _, job in active:
                    with contextlib.suppress(Exception):
                        job.cancel(check=False)
            raise Interrupted(running if cancel else [], [] if cancel else running, signum) from None
        for _, job in active:
            kill_local_job(job)
        raise Interrupted(running, [], signum) from None
    return report


def collect(run: Run, job, results: Path, report: LaunchReport, on_event) -> None:
    """A finished job's outcome into the report."""
    log = str(job.paths.stderr) if hasattr(job, "paths") else ""
    if not job.done():  # gone from the queue without a result: cancelled or killed
        report.failed.append((run, log))
        on_event("failed", run, "ended without a result (cancelled or killed)")
        return
    try:
        answer = job.result()
    except Exception as error:  # the run's own run.json holds the error too
        record = read_run(run.folder(results)) or {}
        if record.get("status") == "stopped":
            report.stopped.append(run)
            steps, budget = int(record.get("env_steps") or 0), run.spec().env_steps
            on_event(
                "stopped",
                run,
                f"the time limit ended all {record.get('attempt')} attempts, at {steps:,} of {budget:,} "
                "env steps; `gpo-bench run` resumes it from its checkpoint (--max-requeues allows more)",
            )
            return
        report.failed.append((run, log))
        last_line = (str(error).splitlines() or [""])[-1]
        on_event("failed", run, f"{type(error).__name__}: {last_line}")
        return
    if isinstance(answer, str) and answer.startswith(OWNED):
        report.owned.append((run, answer.removeprefix(OWNED)))
        on_event("owned", run, f"skipped: another launcher runs it ({answer.removeprefix(OWNED)})")
        return
    if isinstance(answer, str) and answer.startswith(ELSEWHERE):
        report.elsewhere.append(run)
        on_event("done", run, "by another launcher")
        return
    report.done.append(run)
    final = (read_run(run.folder(results)) or {}).get("final", {})
    value = final.get("eval_return")
    on_event("done", run, f"eval return {value:.1f}" if isinstance(value, (int, float)) else "")
