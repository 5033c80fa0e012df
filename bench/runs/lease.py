"""One owner per run: a lease file in the run's folder, claimed before the run starts.

``lease.json`` names its owner (host, pid, SUBMITIT/SLURM job id, a random token). It is
created with ``O_CREAT | O_EXCL``, so of two launchers that claim a run at once exactly one
succeeds; the owner rewrites it every ``refresh`` seconds from a background thread while the
run trains. A lease is *live* while its file was rewritten within ``stale`` seconds and, when
the owner is on this host, its process exists; a lease that is not live (its owner was killed,
its node died) is taken over: the taker renames it aside (``lease.json.stale-<token>``; of two
takers one rename succeeds) and claims afresh. Every claim that goes on to train appends a line
to ``claims.log`` (the folder's history of trainings).

What this assumes of the filesystem: exclusive create and rename are atomic, as on a local
POSIX filesystem, NFSv3 and later, Lustre and GPFS; and the clocks of the hosts that share it
agree to well within ``stale`` seconds (file times are compared with the reader's clock).
``GPO_BENCH_LEASE_SECONDS`` sets ``stale`` (default 120 s; the refresh is a quarter of it).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.runs import settings
from bench.runs.results import write_json

LEASE_FILE, CLAIMS_LOG = "lease.json", "claims.log"


def stale_seconds() -> float:
    return settings.seconds("GPO_BENCH_LEASE_SECONDS")


def job_id() -> str | None:
    """The SLURM job (array task as ``<array>_<task>``) or submitit local job running us."""
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID") or env.get("SUBMITIT_LOCAL_JOB_ID")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@dataclass(frozen=True)
class Owner:
    """Who holds a lease, as its file says."""

    host: str
    pid: int
    job_id: str | None
    token: str
    age: float  # seconds since the file was last written

    def describe(self) -> str:
        job = f", job {self.job_id}" if self.job_id else ""
        return f"{self.host} pid {self.pid}{job}, refreshed {self.age:.0f} s ago"

    def live(self, stale: float) -> bool:
        if self.age > stale:
            return False
        return self.host != socket.gethostname() or _pid_alive(self.pid)


def owner(folder: Path) -> Owner | None:
    """The lease's owner, or None if the run has no readable lease."""
    return owner_of_file(Path(folder) / LEASE_FILE)


def owner_of_file(path: Path) -> Owner | None:
    try:
        info = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
        return Owner(str(info["host"]), int(info["pid"]), info.get("job_id"), str(info["token"]), age)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def live_owner(folder: Path) -> Owner | None:
    """The owner of the run's lease if it is live (another process is running the run)."""
    found = owner(folder)
    return found if found is not None and found.live(stale_seconds()) else None


class RunOwned(Exception):
    """Another live process owns the run."""

    def __init__(self, folder: Path, holder: Owner):
        super().__init__(f"{folder} is being run by {holder.describe()}")
        self.holder = holder


class Lease:
    """A held lease; refreshes itself until ``release``."""

    def __init__(self, folder: Path, info: dict, refresh: float):
        self.folder, self.info, self.path = Path(folder), info, Path(folder) / LEASE_FILE
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh, args=(refresh,), daemon=True)
        self._thread.start()

    def log_training(self) -> None:
        """Append this claim to ``claims.log``: one line per training started in the folder."""
        with open(self.folder / CLAIMS_LOG, "a") as log:
            log.write(json.dumps({k: self.info[k] for k in ("host", "pid", "job_id", "claimed")}) + "\n")

    def held(self) -> bool:
        found = owner(self.folder)
        return found is not None and found.token == self.info["token"]

    def _refresh(self, every: float) -> None:
        while not self._stop.wait(every):
            if not self.held():  # taken over (we were presumed dead): leave it to the new owner
                return
            with contextlib.suppress(OSError):
                write_json(self.path, {**self.info, "refreshed": time.time()})

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.held():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _take_over(folder: Path, holder: Owner | None) -> None:
    """Move the dead lease aside. If what was moved is not the lease we judged dead (another
    taker already replaced it with a fresh claim), put it back where it was."""
    path, aside = folder / LEASE_FILE, folder / f"{LEASE_FILE}.stale-{secrets.token_hex(8)}"
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return
    moved = owner_of_file(aside)
    if holder is not None and moved is not None and moved.token != holder.token:
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)  # never over a lease created meanwhile
        aside.unlink(missing_ok=True)


def claim(folder: Path) -> Lease:
    """Claim the run in ``folder``; RunOwned if another live process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stale = stale_seconds()
    info = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "job_id": job_id(),
        "token": secrets.token_hex(8),
        "claimed": time.time(),
    }
    path = folder / LEASE_FILE
    for _ in range(5):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = owner(folder)
            if holder is None and path.exists() and time.time() - path.stat().st_mtime < 5.0:
                time.sleep(0.2)  # just created, not yet written: look again
                continue
            if holder is not None and holder.live(stale):
                raise RunOwned(folder, holder) from None
            # Dead or stale (or unreadable and old): move it aside and claim afresh.
            _take_over(folder, holder)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(info))
            f.flush()
            os.fsync(f.fileno())
        return Lease(folder, info, stale / 4)
    holder = owner(folder)
    raise RunOwned(folder, holder or Owner("?", -1, None, "", 0.0))
