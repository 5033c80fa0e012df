"""Result files: every write is atomic (temporary file in the same folder, fsync, rename), so a
crash leaves either the previous file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

RUN_FILE, CURVE_FILE = "run.json", "curve.parquet"
_UMASK = os.umask(0)
os.umask(_UMASK)
PACKAGES = ("gpo-bench", "numpy", "torch", "gymnasium", "mujoco", "pandas", "pyarrow")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n"))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def read_run(run_dir: Path) -> dict | None:
    """The run's ``run.json``, or None if it has none yet."""
    try:
        return json.loads((Path(run_dir) / RUN_FILE).read_text())
    except FileNotFoundError:
        return None


def done_record(run_dir: Path) -> dict | None:
    """The ``run.json`` of a finished run (status done, curve written), else None."""
    run = read_run(run_dir)
    return run if run and run.get("status") == "done" and (Path(run_dir) / CURVE_FILE).exists() else None


def is_done(run_dir: Path) -> bool:
    return done_record(run_dir) is not None


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


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
