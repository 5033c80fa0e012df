"""A SLURM time limit or preemption, honoured at the run's next safe point.

SLURM warns a job before its time limit (submitit asks for SIGUSR2 90 s ahead, ``--signal``) and
when it preempts it. submitit's own handler checkpoints the job's callable, requeues the job and
exits at once, wherever the run is: the run then resumes from its last periodic checkpoint, up
to ``GPO_BENCH_CHECKPOINT_SECONDS`` old. Here the signal only raises a flag; the run's
checkpointer sees it at its next safe point (every learner iteration; a GPO run's learner
iterations about every ``gpo.gpo.SEGMENT_SECONDS`` within its mutation phases, and its rounds'
ends), writes a checkpoint whatever the interval says, marks the run as requeued in ``run.json``,
and only then hands over to submitit's handler (requeue and exit). So an attempt loses at most
its last iteration (GPO: its last segment, or a crossover phase in progress).

If no safe point comes within ``GRACE_SECONDS`` (a long crossover phase), a watchdog thread hands
over anyway, so the job is always requeued before SLURM kills it; that attempt then resumes from
its last checkpoint, as before (and whatever the limit's kill then breaks, its member workers,
leaves it requeued, not failed: ``bench.runs.runner``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable

GRACE_SECONDS = 60.0  # of submitit's 90 s warning


class Requeued(BaseException):
    """Raised through the run once its checkpoint is written and the job is requeued."""


class Preemption:
    """The process's pending time limit or preemption, if any (one per job process)."""

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None
        self._handover: Callable[[int, object], None] | None = None
        self._watchdog: threading.Timer | None = None
        self._lock = threading.Lock()
        self._handed = False

    def install(self, grace: float = GRACE_SECONDS) -> bool:
        """Take SIGUSR2 over from submitit's handler (inside a SLURM job); False elsewhere."""
        previous = signal.getsignal(signal.SIGUSR2)
        if not callable(previous) or threading.current_thread() is not threading.main_thread():
            return False
        self._handover = previous
        self.grace = grace
        owner = os.getpid()

        def flag(signum, frame) -> None:
            if os.getpid() != owner:  # a forked child inherited this handler: the owner acts
                return
            self.requested, self.signum = True, signum
            self._watchdog = threading.Timer(self.grace, self._hand_over_from_watchdog)
            self._watchdog.daemon = True
            self._watchdog.start()

        signal.signal(signal.SIGUSR2, flag)
        return True

    @property
    def handed_over(self) -> bool:
        """Whether this job has been requeued already (at a safe point, or by the watchdog)."""
        with self._lock:
            return self._handed

    def _hand_over_from_watchdog(self) -> None:
        # No safe point in time: requeue now (submitit's handler exits only this thread); the run
        # goes on until SLURM stops it and resumes from its last checkpoint.
        with self._lock:
            if self._handed:
                return
            self._handed = True
        with contextlib.suppress(BaseException):  # submitit's exit or refusal, in a thread of its own
            self._handover(self.signum, None)

    def honour(self) -> None:
        """At a safe point, after its checkpoint: record, requeue and leave (``Requeued``, or
        submitit's ``UncompletedJobError`` when the job may not be requeued again)."""
        with self._lock:
            handed, self._handed = self._handed, True
        if handed:  # the watchdog already requeued the job: leave now, with this checkpoint
            raise Requeued("requeued by SLURM after a time limit or preemption")
        if self._watchdog is not None:
            self._watchdog.cancel()
        try:
            self._handover(self.signum, None)  # checkpoint the job, requeue, sys.exit(-1)
        except SystemExit:
            raise Requeued("requeued by SLURM after a time limit or preemption") from None


current = Preemption()
