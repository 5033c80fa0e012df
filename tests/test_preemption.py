"""A cluster's warning signal waits for the run's next safe point (bench.runs.preemption); the
real cluster's time limits are in tests/test_slurm.py."""

import os
import signal
import time

import pytest

from bench.runs.preemption import Preemption, Requeued


@pytest.fixture
def submitits_handler():
    """A stand-in for submitit's SIGUSR2 handler: it requeues (counted) and exits."""
    calls = []

    def handler(signum, frame):
        calls.append(signum)
        raise SystemExit(-1)

    previous = signal.signal(signal.SIGUSR2, handler)
    yield calls
    signal.signal(signal.SIGUSR2, previous)


def test_the_signal_only_raises_a_flag_and_the_safe_point_hands_over_once(submitits_handler):
    preemption = Preemption()
    assert preemption.install(grace=30)
    os.kill(os.getpid(), signal.SIGUSR2)
    time.sleep(0.05)
    assert preemption.requested and submitits_handler == []  # nothing left the run yet
    with pytest.raises(Requeued):
        preemption.honour()  # after the checkpoint: submitit's requeue, as our own exception
    assert submitits_handler == [signal.SIGUSR2]


def test_without_a_safe_point_in_time_the_watchdog_requeues_anyway(submitits_handler):
    preemption = Preemption()
    preemption.install(grace=0.05)
    os.kill(os.getpid(), signal.SIGUSR2)
    deadline = time.monotonic() + 5
    while not submitits_handler and time.monotonic() < deadline:
        time.sleep(0.01)
    assert submitits_handler == [signal.SIGUSR2]  # requeued from the watchdog's thread
    with pytest.raises(Requeued):
        preemption.honour()  # a late safe point leaves at once, without requeuing twice
    assert submitits_handler == [signal.SIGUSR2]


def test_outside_a_job_nothing_is_taken_over():
    previous = signal.signal(signal.SIGUSR2, signal.SIG_DFL)
    try:
        assert not Preemption().install()
    finally:
        signal.signal(signal.SIGUSR2, previous)
