"""The ``GPO_BENCH_*`` environment variables gpo-bench reads, each validated where it is read and
all of them at the CLI's start, so a bad value is one line naming the variable and what it
accepts, before anything runs (SLURM jobs and local workers inherit the values checked)."""

from __future__ import annotations

import math
import os

from gpo.core import kernels

# name: (default, smallest accepted value, whether the smallest itself is accepted, what it sets)
SECONDS = {
    "GPO_BENCH_CHECKPOINT_SECONDS": (
        60.0,
        0.0,
        True,
        "seconds between a run's checkpoints, 0 for every chance",
    ),
    "GPO_BENCH_PROGRESS_SECONDS": (30.0, 0.0, False, "seconds between plain progress lines"),
    "GPO_BENCH_HEARTBEAT_SECONDS": (5.0, 0.0, False, "seconds between a run's progress.json heartbeats"),
    "GPO_BENCH_STALL_SECONDS": (60.0, 0.0, False, "heartbeat age after which status calls a run stalled"),
    "GPO_BENCH_LEASE_SECONDS": (120.0, 0.0, False, "lease age after which another launcher takes a run over"),
    "GPO_BENCH_SLURM_SIGNAL_SECONDS": (
        90.0,
        10.0,
        True,
        "seconds before a SLURM time limit the job is warned to checkpoint and requeue",
    ),
}
FLAGS = {"GPO_BENCH_TENSORBOARD": "write TensorBoard event files, as --tensorboard"}
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
PATHS = {"GPO_BENCH_RESULTS": "the results folder (default ./results)"}
CHOICES = {
    kernels.OPT_OUT: (
        kernels.MODES,
        f"pinned: every number at {kernels.LEVEL} on any x86-64 CPU with AVX2 (default); "
        "native: this CPU's own kernels, unpinned",
    )
}


class SettingError(ValueError):
    """A GPO_BENCH_* variable set to something it does not accept."""


def seconds(name: str) -> float:
    default, smallest, inclusive, what = SECONDS[name]
    raw = os.environ.get(name)
    if raw is None:
        return default
    bound = f">= {smallest:g}" if inclusive else f"> {smallest:g}"
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < smallest or (value == smallest and not inclusive):
        raise SettingError(
            f"{name}={raw!r}: expected a number of seconds {bound} [{what}; default {default:g}]"
        )
    return value


def flag(name: str) -> bool:
    raw = os.environ.get(name, "")
    if raw.strip().lower() in TRUE:
        return True
    if raw.strip().lower() in FALSE:
        return False
    raise SettingError(f"{name}={raw!r}: expected 1 or 0 [or true/false, yes/no, on/off: {FLAGS[name]}]")


def path(name: str, default: str) -> str:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip():
        raise SettingError(f"{name} is set but empty: expected a folder ({PATHS[name]})")
    return raw


def choice(name: str) -> str:
    accepted, what = CHOICES[name]
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return accepted[0]
    if raw.strip().lower() not in accepted:
        raise SettingError(f"{name}={raw!r}: expected {' or '.join(accepted)} [{what}]")
    return raw.strip().lower()


def check_all() -> None:
    """SettingError for the first GPO_BENCH_* variable whose value is not accepted."""
    for name in SECONDS:
        seconds(name)
    for name in FLAGS:
        flag(name)
    for name in PATHS:
        path(name, "")
    for name in CHOICES:
        choice(name)
