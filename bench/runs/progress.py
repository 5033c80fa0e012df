"""Progress you can see: a heartbeat file per running run, the live display of ``run`` and
``train``, and optional TensorBoard scalars.

- ``Heartbeat`` listens to the algorithm's ``gpo.core.progress`` reports and rewrites the run's
  ``progress.json`` atomically every ``GPO_BENCH_HEARTBEAT_SECONDS`` (default 5) from a background
  thread: env steps done and budget, steps/s over the last minute, latest training and
  evaluation return, time, host, pid and job id. ``status`` reads it (local or SLURM: the file is
  in the run's folder) and calls a run whose heartbeat is older than ``GPO_BENCH_STALL_SECONDS``
  (default 60) ``stalled``.
- ``LiveDisplay``: on a terminal, one rich progress bar per active run and one for the suite (env
  steps of the budget, steps/s, ETA, latest return); elsewhere (CI, SLURM logs, a file) a plain
  line per active run every ``every`` seconds.
- ``TensorBoard``: with ``--tensorboard`` (or ``GPO_BENCH_TENSORBOARD=1``, which SLURM jobs inherit)
  a run writes event files under ``<run>/tensorboard``: ``live/*`` while it trains, and when it
  finishes every numeric column of its curve (``curve/*``) and of GPO's rounds (``rounds/*``)
  at their env steps, so ``tensorboard --logdir results/`` shows them.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bench.runs import settings
from bench.runs.lease import job_id
from bench.runs.results import write_json

PROGRESS_FILE = "progress.json"
TENSORBOARD_DIR = "tensorboard"
RATE_WINDOW_SECONDS = 60.0


def heartbeat_seconds() -> float:
    return settings.seconds("GPO_BENCH_HEARTBEAT_SECONDS")


def stall_seconds() -> float:
    return settings.seconds("GPO_BENCH_STALL_SECONDS")


def tensorboard_requested() -> bool:
    return settings.flag("GPO_BENCH_TENSORBOARD")


class Heartbeat:
    """A ``gpo.core.progress`` sink that keeps the run's ``progress.json`` fresh."""

    def __init__(
        self,
        folder: Path,
        budget: int,
        every: float | None = None,
        listeners: tuple[Callable[[dict], None], ...] = (),
    ):
        self.path = Path(folder) / PROGRESS_FILE
        self.budget, self.every = int(budget), heartbeat_seconds() if every is None else every
        self.listeners = listeners
        self.steps = 0
        self.restored_steps = 0
        self.train_return: float | None = None
        self.eval_return: float | None = None
        self.started = time.time()
        self._rate: deque[tuple[float, int]] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._tensorboard: TensorBoard | None = None

    def __call__(self, steps: int, train_return: float | None, eval_return: float | None) -> None:
        self.steps += steps
        if train_return is not None:
            self.train_return = train_return
        if eval_return is not None:
            self.eval_return = eval_return
        if self._tensorboard is not None:
            self._tensorboard.live(self.steps, train_return, eval_return)

    def restored(self, steps: int) -> None:
        """Steps of earlier attempts, restored from a checkpoint: part of the run's progress, not
        of this attempt's speed (the rate and ETA start from here)."""
        self.steps += steps
        self.restored_steps += steps
        self._rate.clear()
        self._rate.append((time.time(), self.steps))

    def with_tensorboard(self, board: TensorBoard | None) -> Heartbeat:
        self._tensorboard = board
        return self

    def snapshot(self) -> dict:
        now = time.time()
        self._rate.append((now, self.steps))
        while len(self._rate) > 2 and now - self._rate[1][0] >= RATE_WINDOW_SECONDS:
            self._rate.popleft()
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        return {
            "env_steps": min(self.steps, self.budget),
            "budget": self.budget,
            "steps_per_second": rate,
            "train_return": self.train_return,
            "eval_return": self.eval_return,
            "time": now,
            "started": self.started,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "job_id": job_id(),
        }

    def write(self) -> dict:
        snap = self.snapshot()
        with contextlib.suppress(OSError):  # a full disk must not kill the run over its heartbeat
            write_json(self.path, snap)
        for listener in self.listeners:
            listener(snap)
        return snap

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self.write()

    def __enter__(self) -> Heartbeat:
        self.write()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.write()


def read_progress(folder: Path) -> dict | None:
    """A run's last heartbeat with its ``age`` in seconds, or None."""
    import json

    path = Path(folder) / PROGRESS_FILE
    try:
        record = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(record, dict) or "env_steps" not in record:
        return None
    record["age"] = max(0.0, time.time() - float(record.get("time", 0.0)))
    return record


def eta_seconds(progress: dict) -> float | None:
    rate, left = progress.get("steps_per_second") or 0.0, progress["budget"] - progress["env_steps"]
    return left / rate if rate > 0 else None


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def one_decimal(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1f}"


def describe(progress: dict) -> str:
    """``41% 61,440/150,000 steps, 2,310 steps/s, ETA 3m12s, return 812.3 (eval 790.1)``."""
    done, budget = progress["env_steps"], progress["budget"]
    percent = 100.0 * done / budget if budget else 100.0
    text = (
        f"{percent:.0f}% {done:,}/{budget:,} steps, {progress.get('steps_per_second') or 0:,.0f} steps/s, "
        f"ETA {duration(eta_seconds(progress))}, return {one_decimal(progress.get('train_return'))}"
    )
    if progress.get("eval_return") is not None:
        text += f" (eval {one_decimal(progress['eval_return'])})"
    return text


class LiveDisplay:
    """Bars on a terminal, plain lines elsewhere. ``update`` with each active run's heartbeat."""

    def __init__(self, total_runs: int, finished: int, every: float, tty: bool | None = None):
        self.total, self.finished, self.every = total_runs, finished, every
        self.tty = sys.stdout.isatty() if tty is None else tty
        self._last_lines = 0.0
        self._latest: dict[str, dict] = {}
        self._bars = None
        self._tasks: dict[str, int] = {}
        if self.tty:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                refresh_per_second=2,
                transient=False,
            )
            self._suite = self._bars.add_task("suite", total=max(total_runs, 1), completed=finished, info="")
            self._bars.start()

    def print(self, line: str) -> None:
        if self._bars is not None:
            self._bars.console.print(line, highlight=False, markup=False)
        else:
            print(line, flush=True)

    def update(self, name: str, progress: dict | None) -> None:
        if progress is None:
            return
        self._latest[name] = progress
        if self._bars is not None:
            info = describe(progress).split(" ", 1)[1]
            if name not in self._tasks:
                self._tasks[name] = self._bars.add_task(name, total=progress["budget"], info=info)
            self._bars.update(self._tasks[name], completed=progress["env_steps"], info=info)

    def run_ended(self, name: str) -> None:
        self.finished += 1
        self._latest.pop(name, None)
        if self._bars is not None:
            if name in self._tasks:
                self._bars.remove_task(self._tasks.pop(name))
            self._bars.update(self._suite, completed=self.finished)

    def tick(self) -> None:
        """Plain lines (not a terminal): one per active run, every ``every`` seconds."""
        if self._bars is not None or time.monotonic() - self._last_lines < self.every:
            return
        self._last_lines = time.monotonic()
        for name, progress in sorted(self._latest.items()):
            print(
                f"progress [{self.finished}/{self.total} runs done] {name}  {describe(progress)}", flush=True
            )

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None


class TensorBoard:
    """Event files under ``<run>/tensorboard`` (needs the ``tensorboard`` extra)."""

    def __init__(self, folder: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:  # torch's writer needs the tensorboard package
            raise RuntimeError(
                "--tensorboard needs the tensorboard package: pip install 'gpo-bench[tensorboard]'"
            ) from error
        self.writer = SummaryWriter(log_dir=str(Path(folder) / TENSORBOARD_DIR))

    def live(self, steps: int, train_return: float | None, eval_return: float | None) -> None:
        if train_return is not None:
            self.writer.add_scalar("live/train_return", train_return, steps)
        if eval_return is not None:
            self.writer.add_scalar("live/eval_return", eval_return, steps)

    def tables(self, tables: dict[str, pd.DataFrame]) -> None:
        """Every numeric column of the curve (and GPO's rounds) at its env steps."""
        for prefix, name in (("curve", "curve.parquet"), ("rounds", "rounds.parquet")):
            frame = tables.get(name)
            if frame is None or "env_steps" not in frame:
                continue
            for column in frame.columns:
                if column == "env_steps" or not pd.api.types.is_numeric_dtype(frame[column]):
                    continue
                for step, value in zip(frame["env_steps"], frame[column]):
                    if pd.notna(value) and pd.notna(step):
                        self.writer.add_scalar(f"{prefix}/{column}", float(value), int(step))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
