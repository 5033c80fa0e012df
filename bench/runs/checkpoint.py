"""Checkpoints of a run, in its folder: ``checkpoint-<name>.pt``, written atomically.

States are nested dicts of NumPy arrays and Python values; on disk NumPy arrays become torch
tensors, so that loading uses ``torch.load(weights_only=True)``: no pickle from a results folder
is ever executed. A checkpoint carries the fingerprint of its run's configuration and is ignored
if the configuration changed. Saves happen when offered and at least ``every_seconds`` after the
previous one (``GPO_BENCH_CHECKPOINT_SECONDS``, default 60).

A checkpoint cannot strand its run: before a new one replaces ``checkpoint-<name>.pt``, the
current one is kept as ``checkpoint-<name>.prev.pt`` (a hard link, then an atomic rename), so at
every instant one complete checkpoint is on disk. A checkpoint that fails to load (truncated,
damaged) is reported in one line on stderr and moved aside (``...pt.unreadable-<UTC time>``,
never deleted); the run resumes from the previous one, or starts afresh if that fails too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench.runs import preemption, settings
from bench.runs.results import atomic_write


def to_torch(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, deque)):
        return [to_torch(v) for v in value]
    return value


def to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_numpy(v) for v in value]
    return value


class TorchCheckpointer:
    """The ``gpo.core.trainer.Checkpointer`` of the harness (picklable: it travels to workers)."""

    def __init__(self, folder: Path, fingerprint: str, every_seconds: float | None = None):
        self.folder, self.fingerprint = Path(folder), fingerprint
        if every_seconds is None:
            every_seconds = settings.seconds("GPO_BENCH_CHECKPOINT_SECONDS")
        self.every_seconds = every_seconds
        self._last: dict[str, float] = {}
        self.resumed: list[str] = []

    def path(self, name: str) -> Path:
        return self.folder / f"checkpoint-{name}.pt"

    def previous(self, name: str) -> Path:
        return self.folder / f"checkpoint-{name}.prev.pt"

    def load(self, name: str) -> dict | None:
        """The newest loadable checkpoint's state, or None (start afresh)."""
        self._last[name] = time.monotonic()
        for path in (self.path(name), self.previous(name)):
            if not path.exists():
                continue
            try:
                saved = torch.load(path, weights_only=True)
                fingerprint, state = saved["fingerprint"], saved["state"]
            except Exception as error:  # truncated or damaged: any of torch's, zip's or pickle's errors
                aside = set_aside(path)
                reason = " ".join(str(error).split())[:120]
                print(
                    f"gpo-bench: checkpoint {path} cannot be loaded ({reason}); moved to {aside.name}",
                    file=sys.stderr,
                )
                continue
            if fingerprint != self.fingerprint:
                return None  # another configuration's: start afresh (it will be overwritten)
            self.resumed.append(name if path == self.path(name) else f"{name} (previous)")
            return to_numpy(state)
        return None

    def offer(self, name: str, state: Callable[[], dict]) -> None:
        """A safe point: write ``state()`` if the interval has passed, or at once when SLURM has
        asked the job to go (``bench.runs.preemption``), and then let it go."""
        now = time.monotonic()
        leaving = preemption.current.requested
        if now - self._last.get(name, now) < self.every_seconds and not leaving:
            return
        payload = {"fingerprint": self.fingerprint, "state": to_torch(state())}
        current, previous = self.path(name), self.previous(name)
        if current.exists():  # keep it until the new one is safely written
            link = previous.with_suffix(".link")
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            os.link(current, link)
            os.replace(link, previous)
        atomic_write(current, lambda tmp: torch.save(payload, tmp))
        self._last[name] = now
        if leaving:
            preemption.current.honour()

    def existing(self) -> list[Path]:
        return sorted(self.folder.glob("checkpoint-*.pt"))

    def clear(self) -> None:
        for path in self.existing():
            path.unlink()


def set_aside(path: Path) -> Path:
    """Move an unreadable checkpoint aside (never deleting it)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.unreadable-{stamp}")
    os.replace(path, target)
    return target
