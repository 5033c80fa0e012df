"""Running GPO's per-member tasks on W worker processes.

Tasks are pure functions of their arguments (member state, configuration, derived seeds), and
results come back in task order, so W only changes how fast a run goes, never its numbers.
Workers are spawned (not forked) and use one BLAS thread each, as the main process does. A
spawned worker starts with gymnasium's own registry only, so it first imports the modules behind
every environment registered outside gymnasium in the parent (whose import registers them).

A worker inherits its parent's environment, and with it the pinned numerical kernels
(``gpo.core.kernels``); it checks that it computes with exactly its parent's kernels and refuses
to start otherwise, since a worker on other kernels would give other numbers for the same seed.
"""

from __future__ import annotations

import importlib
import multiprocessing
import queue
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from gpo.core import kernels, progress


def single_threaded() -> None:
    """One BLAS thread and one torch thread (``gpo.core.nn.tanh_``): the setting every number of this
    project is produced with."""
    threadpool_limits(1)
    torch.set_num_threads(1)


def registered_env_modules() -> tuple[str, ...]:
    """Modules of environments registered in this process outside gymnasium itself."""
    modules = {
        spec.entry_point.split(":")[0]
        for spec in gym.registry.values()
        if isinstance(spec.entry_point, str) and not spec.entry_point.startswith("gymnasium")
    }
    return tuple(sorted(modules))


DONE = ("done",)  # a worker's last report for a task: every report of that task came before it
_reports = None  # in a worker: the queue its reports go to


def _init_worker(env_modules: tuple[str, ...], parent_kernels: dict, reports) -> None:
    global _reports
    if (here := kernels.observed()) != parent_kernels:
        raise RuntimeError(f"a member worker's kernels {here} differ from its run's {parent_kernels}")
    # A cluster's warning signal (SIGUSR2: a time limit or preemption is coming) is for the
    # process that owns the run to act on; its default action would kill a worker mid-task.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    single_threaded()
    for module in env_modules:
        importlib.import_module(module)
    _reports = reports
    progress.listen_for_parent(progress.QueueSink(reports))


def _task(fn: Callable[..., Any], args: tuple) -> Any:
    try:
        return fn(*args)
    finally:
        _reports.put(DONE)  # after the task's reports: one queue, one feeder, in order


def groups(n: int, workers: int) -> list[list[int]]:
    """Indices 0..n-1 in at most ``workers`` contiguous groups of near-equal size (one per worker,
    each run in lockstep); the grouping changes how fast a run goes, never its numbers."""
    return [list(map(int, g)) for g in np.array_split(np.arange(n), min(n, workers))]


class TaskPool:
    """``map`` over W processes; W = 1 runs the tasks in this process."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._executor = None
        if workers > 1:
            context = multiprocessing.get_context("spawn")
            self._reports = context.Queue()
            self._executor = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(registered_env_modules(), kernels.observed(), self._reports),
            )

    def map(self, fn: Callable[..., Any], arguments: Sequence[tuple]) -> list:
        """``fn`` over ``arguments``, results in order. With workers, their progress reports are
        replayed here while they work (``gpo.core.progress``), and all of a task's reports are
        in before its result is returned."""
        if self._executor is None:
            return [fn(*args) for args in arguments]
        futures = [self._executor.submit(_task, fn, args) for args in arguments]
        pending = len(futures)
        while pending:
            try:
                report = self._reports.get(timeout=0.2)
            except queue.Empty:
                if any(f.done() and f.exception() is not None for f in futures):
                    break  # a worker died before its last report: its error is raised below
                continue
            if report == DONE:
                pending -= 1
            else:
                progress.replay(report)
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
            self._reports.close()
            self._reports.join_thread()
