"""Progress reports from inside a run, for whoever is listening (a heartbeat file, a progress bar).

The algorithm calls :func:`emit` as it consumes env steps; a caller that wants to listen wraps the
run in ``with reporting(sink):``. Without a listener ``emit`` costs one lookup. Work done in other
worker processes (``gpo.core.parallel.TaskPool`` with W > 1) reports as it goes: each worker's sink
is a :class:`QueueSink` that sends its reports to the parent, which replays them into its own sink
while it waits (:func:`replay`). So steps, rate and returns move during a phase, and the total is
the same for any W.

``steps`` are increments of the run's env-step budget (every step any member, hybrid or child
takes); ``train_return`` and ``eval_return`` are the latest values, if known.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Protocol


class ProgressSink(Protocol):
    def __call__(self, steps: int, train_return: float | None, eval_return: float | None) -> None: ...


_sink: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar("gpo_progress", default=None)


@contextlib.contextmanager
def reporting(sink: ProgressSink) -> Iterator[None]:
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


def emit(steps: int = 0, train_return: float | None = None, eval_return: float | None = None) -> None:
    sink = _sink.get()
    if sink is not None:
        sink(int(steps), _finite(train_return), _finite(eval_return))


def emit_restored(steps: int) -> None:
    """Steps an earlier attempt took, restored from a checkpoint: they count towards the budget,
    but a sink that measures speed (``restored``) must not take them for this attempt's work."""
    sink = _sink.get()
    if sink is None:
        return
    restored = getattr(sink, "restored", None)
    if restored is not None:
        restored(int(steps))
    else:
        sink(int(steps), None, None)


class QueueSink:
    """A worker process's sink: each report goes to its parent through ``queue``."""

    def __init__(self, queue) -> None:
        self.queue = queue

    def __call__(self, steps: int, train_return: float | None, eval_return: float | None) -> None:
        self.queue.put(("emit", steps, train_return, eval_return))

    def restored(self, steps: int) -> None:
        self.queue.put(("restored", steps))


def listen_for_parent(sink: QueueSink) -> None:
    """Make ``sink`` this worker process's sink for the rest of its life."""
    _sink.set(sink)


def replay(report: tuple) -> None:
    """A report a worker's :class:`QueueSink` sent, into this process's sink."""
    if report[0] == "restored":
        emit_restored(report[1])
    else:
        _, steps, train_return, eval_return = report
        emit(steps, train_return, eval_return)


def _finite(value: float | None) -> float | None:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)
