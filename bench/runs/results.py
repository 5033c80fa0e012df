"""A run's folder: its record (``run.json``), the checksums that vouch for its files, the versions,
CPU and commit a run records, and setting a damaged folder aside. Every file is written with
``bench.artifacts.files``' atomic writers."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from functools import cache
from importlib import metadata
from pathlib import Path

from bench.artifacts.files import (  # noqa: F401  (the run folder's writers, imported from here too)
    atomic_write,
    file_digest,
    write_json,
    write_parquet,
    write_text,
)
from gpo.core import kernels

RUN_FILE, CURVE_FILE = "run.json", "curve.parquet"
PACKAGES = ("gpo-bench", "numpy", "torch", "gymnasium", "mujoco", "pandas", "pyarrow")


class CorruptRun(Exception):
    """A run folder whose files cannot be trusted: ``run.json`` unreadable, or a file it lists
    missing or different from the checksum recorded when it was written."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def read_run(run_dir: Path) -> dict | None:
    """The run's ``run.json``, or None if it has none yet; CorruptRun if it is not valid JSON."""
    path = Path(run_dir) / RUN_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CorruptRun(path, f"run.json is not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise CorruptRun(path, "run.json is not a JSON object")
    return record


def verify_files(run_dir: Path, record: dict) -> None:
    """CorruptRun for the first file of ``record["files"]`` that is missing or changed, or of
    ``record["local_files"]`` (git-ignored bulk such as policies.pt) that is changed."""
    local = record.get("local_files", {})  # not committed: verified only where present
    for name, digest in [*record.get("files", {}).items(), *local.items()]:
        path = Path(run_dir) / name
        if not path.exists():
            if name in local:
                continue
            raise CorruptRun(path, "missing (run.json lists it)")
        if file_digest(path) != digest:
            raise CorruptRun(path, "checksum differs from the one run.json recorded (damaged or replaced)")


def done_record(run_dir: Path) -> dict | None:
    """The ``run.json`` of a finished run (status done, every file it lists intact), else None;
    CorruptRun if the run's files cannot be trusted. Runs written before checksums were recorded
    only need their curve to exist."""
    run = read_run(run_dir)
    if not run or run.get("status") != "done":
        return None
    if "files" in run:
        verify_files(run_dir, run)
        return run
    return run if (Path(run_dir) / CURVE_FILE).exists() else None


def is_done(run_dir: Path) -> bool:
    """Finished and intact (CorruptRun propagates)."""
    return done_record(run_dir) is not None


def quarantine(run_dir: Path) -> Path:
    """Move a damaged run folder aside, never deleting it: ``<folder>.corrupt-<UTC time>``."""
    run_dir = Path(run_dir)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = run_dir.with_name(f"{run_dir.name}.corrupt-{stamp}")
    suffix = 0
    while target.exists():
        suffix += 1
        target = run_dir.with_name(f"{run_dir.name}.corrupt-{stamp}-{suffix}")
    os.replace(run_dir, target)
    return target


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def cpu_record() -> dict:
    """The CPU a run computed on: its model and the SIMD features NumPy dispatches to. Float
    rounding (BLAS, libm) differs between CPUs, so bit-for-bit determinism holds per CPU, and two
    machines with the same host name need not give the same numbers for the same seed."""
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return {"model": model, "simd": sorted(name for name, on in features.items() if on)}


@cache
def _this_process() -> tuple[dict, list[str]]:
    return kernels.record(), cpu_record()["simd"]


def replay_note(record: dict) -> str | None:
    """One sentence if a run's numbers (its ``run.json`` ``record``) may not replay in this
    process, which computes at other kernels (``gpo.core.kernels.replay_note``); else None."""
    return kernels.replay_note(record, *_this_process())


def git_commit() -> str | None:
    """The commit of the source tree this package runs from, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
