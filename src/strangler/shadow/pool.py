"""A bounded queue and a few worker threads: shadow work happens off the request path.

``submit`` never waits: when the queue is full the job is refused (the
caller counts the drop), because a slow or down Flask must not slow the
users Django is already answering. Workers start on the first submit (after
a server forks its workers, never before) and are daemon threads, so a
stopping process does not wait for comparisons. ``tick`` runs after every
job and whenever a worker has been idle for ``tick_every`` seconds: shadow
uses it to write its counts in batches (``tally.py``), never once per job.
Used by the front process (``SHADOW["PROCESS"]`` off) and by the shadow
child process alike. No framework imports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable

logger = logging.getLogger("strangler.shadow")

Job = Callable[[], None]


class WorkerPool:
    """``workers`` threads running jobs from a queue of at most ``size`` waiting jobs."""

    def __init__(
        self,
        *,
        size: int,
        workers: int,
        name: str = "strangler-shadow",
        tick: Job | None = None,
        tick_every: float = 1.0,
    ) -> None:
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=size)
        self._workers = workers
        self._name = name
        self._tick = tick
        self._tick_every = tick_every
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (the job dropped) when the queue is full or closed. Never blocks."""
        if not self._threads:
            self._start()
        if self._closed:
            return False
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            return False
        return True

    def join(self) -> None:
        """Wait until every queued job has run (tests and the replay command)."""
        self._queue.join()

    def close(self, timeout: float = 5.0) -> None:
        """Let queued jobs finish, then stop the workers (settings changed, tests)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            # A request thread waits for a busy worker to hand the GIL over for up
            # to the switch interval (5 ms by default, ten times a small request).
            if sys.getswitchinterval() > SWITCH_INTERVAL:
                sys.setswitchinterval(SWITCH_INTERVAL)
            for number in range(self._workers):
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        _lower_priority()
        while True:
            try:
                job = self._queue.get(timeout=self._tick_every)
            except queue.Empty:
                self._run_tick()  # idle: nothing else would write what was counted
                continue
            try:
                if job is None:
                    return
                job()
            except Exception:
                # A failing comparison must not kill the worker (and so shadow mode).
                logger.exception("shadow job failed")
            finally:
                self._run_tick()
                self._queue.task_done()

    def _run_tick(self) -> None:
        if self._tick is None:
            return
        try:
            self._tick()
        except Exception:
            logger.exception("shadow: periodic work failed")


# Seconds a thread may hold the GIL while another waits, once shadow workers run.
SWITCH_INTERVAL = 0.0005
# Added to the worker threads' nice value: the user's requests come first for the CPU.
WORKER_NICE = 10


def _lower_priority() -> None:
    """Give this thread (only) a lower CPU priority, where the OS allows it.

    On Linux a thread has its own nice value, so the request threads keep
    theirs. Best effort: elsewhere, or without permission, nothing changes.
    """
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        # Relative to the process's own: a front already started under nice stays ahead.
        lower = min(os.getpriority(os.PRIO_PROCESS, thread) + WORKER_NICE, 19)
        os.setpriority(os.PRIO_PROCESS, thread, lower)
