"""The bounded queue and workers (strangler/shadow/pool.py)."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from strangler.shadow.pool import WorkerPool


@pytest.mark.timeout(10)
def test_a_full_queue_refuses_without_waiting() -> None:
    pool = WorkerPool(size=1, workers=1)
    gate = threading.Event()
    ran: list[int] = []
    pool.submit(gate.wait)  # type: ignore[arg-type]
    results = [pool.submit(partial(ran.append, n)) for n in range(5)]
    # The worker may not have taken the gate job yet: one or two jobs fit.
    assert results[0] is True or results.count(True) == 0
    assert results.count(False) >= 3
    gate.set()
    pool.join()
    assert len(ran) == results.count(True)
    pool.close()


@pytest.mark.timeout(10)
def test_the_tick_runs_after_each_job_and_when_idle() -> None:
    ticks: list[str] = []
    idle = threading.Event()

    def tick() -> None:
        ticks.append("tick")
        if len(ticks) > 2:
            idle.set()

    pool = WorkerPool(size=10, workers=1, tick=tick, tick_every=0.01)
    pool.submit(lambda: None)
    pool.submit(lambda: None)
    pool.join()
    assert len(ticks) >= 2  # one after each job, before join returns
    idle.wait()  # and more while nothing is queued
    pool.close()


def test_a_failing_job_does_not_stop_the_workers(caplog: pytest.LogCaptureFixture) -> None:
    pool = WorkerPool(size=10, workers=1)
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    pool.submit(fail)
    pool.submit(done.set)
    pool.join()
    assert done.is_set()
    assert "shadow job failed" in caplog.text
    pool.close()


def test_a_closed_pool_drops() -> None:
    pool = WorkerPool(size=10, workers=1)
    pool.submit(lambda: None)
    pool.close()
    assert pool.submit(lambda: None) is False


def test_workers_yield_the_cpu_to_requests() -> None:
    import os
    import sys

    from strangler.shadow.pool import SWITCH_INTERVAL, WORKER_NICE

    before = sys.getswitchinterval()
    pool = WorkerPool(size=10, workers=1)
    seen: list[int] = []

    def note_priority() -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    try:
        pool.submit(note_priority)
        pool.join()
        assert sys.getswitchinterval() <= SWITCH_INTERVAL
        # The worker thread only: this (request) thread keeps its own priority.
        assert seen[0] >= WORKER_NICE
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < seen[0]
    finally:
        pool.close()
        sys.setswitchinterval(before)
