"""Running GPO's per-member tasks on W worker processes.

Tasks are pure functions of their arguments (member state, configuration, derived seeds), and
results come back in task order, so W only changes how fast a run goes, never its numbers.
Workers are spawned (not forked) and use one BLAS thread each, as the main process does.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from threadpoolctl import threadpool_limits


def single_threaded() -> None:
    """One BLAS thread: the setting every number of this project is produced with."""
    threadpool_limits(1)


class TaskPool:
    """``map`` over W processes; W = 1 runs the tasks in this process."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._executor = None
        if workers > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=single_threaded,
            )

    def map(self, fn: Callable[..., Any], arguments: Sequence[tuple]) -> list:
        if self._executor is None:
            return [fn(*args) for args in arguments]
        futures = [self._executor.submit(fn, *args) for args in arguments]
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
