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


@pytest.mark.parametrize("requeued", [True, False])
def test_an_attempt_broken_after_its_job_was_requeued_is_requeued_not_failed(
    tmp_path, monkeypatch, submitits_handler, requeued
):
    """Issue #45: the watchdog requeued the job (no safe point in time), then the limit's kill
    stopped the run's member workers and the run raised BrokenProcessPool. That attempt is a
    requeued one (``run.json`` and the exception the job leaves with), never a failure; the same
    error without a requeue is a failure, as before."""
    import json
    from concurrent.futures.process import BrokenProcessPool

    from bench.runs import preemption as preemption_module
    from bench.runs import runner

    pending = Preemption()
    pending.install(grace=0.01)
    if requeued:
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(0.2)  # the watchdog hands over (submitit's stand-in counts it)
        assert pending.handed_over and submitits_handler == [signal.SIGUSR2]
    monkeypatch.setattr(preemption_module, "current", pending)

    def broken(spec, checkpointer, algo):
        raise BrokenProcessPool("a process in the process pool was terminated abruptly")

    monkeypatch.setattr(runner, "execute", broken)
    out = tmp_path / "run"
    with pytest.raises(Requeued if requeued else BrokenProcessPool):
        runner.run_one("ppo", "InvertedPendulum-v5", 2048, 0, out)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == ("requeued" if requeued else "failed")
    assert (record["error"] is None) == requeued
