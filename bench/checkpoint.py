"""Checkpoints of a run, in its folder: ``checkpoint-<name>.pt``, written atomically.

States are nested dicts of NumPy arrays and Python values; on disk NumPy arrays become torch
tensors, so that loading uses ``torch.load(weights_only=True)``: no pickle from a results folder
is ever executed. A checkpoint carries the fingerprint of its run's configuration and is ignored
if the configuration changed. Saves happen when offered and at least ``every_seconds`` after the
previous one (``GPO_BENCH_CHECKPOINT_SECONDS``, default 60).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench.results import atomic_write

DEFAULT_SECONDS = 60.0


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
    """The ``gpo.trainer.Checkpointer`` of the harness (picklable: it travels to workers)."""

    def __init__(self, folder: Path, fingerprint: str, every_seconds: float | None = None):
        self.folder, self.fingerprint = Path(folder), fingerprint
        if every_seconds is None:
            every_seconds = float(os.environ.get("GPO_BENCH_CHECKPOINT_SECONDS", DEFAULT_SECONDS))
        self.every_seconds = every_seconds
        self._last: dict[str, float] = {}
        self.resumed: list[str] = []

    def path(self, name: str) -> Path:
        return self.folder / f"checkpoint-{name}.pt"

    def load(self, name: str) -> dict | None:
        path = self.path(name)
        self._last[name] = time.monotonic()
        if not path.exists():
            return None
        saved = torch.load(path, weights_only=True)
        if saved.get("fingerprint") != self.fingerprint:
            return None  # another configuration's: start afresh (it will be overwritten)
        self.resumed.append(name)
        return to_numpy(saved["state"])

    def offer(self, name: str, state: Callable[[], dict]) -> None:
        now = time.monotonic()
        if now - self._last.get(name, now) < self.every_seconds:
            return
        payload = {"fingerprint": self.fingerprint, "state": to_torch(state())}
        atomic_write(self.path(name), lambda tmp: torch.save(payload, tmp))
        self._last[name] = now

    def existing(self) -> list[Path]:
        return sorted(self.folder.glob("checkpoint-*.pt"))

    def clear(self) -> None:
        for path in self.existing():
            path.unlink()
