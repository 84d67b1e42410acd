"""Where shadow work runs: a child process of each front process, or threads in it.

The request path hands a job (plain data: ``live.ShadowJob``,
``record.Recording``) to ``shadow_workers().submit``, which never waits.
With ``SHADOW["PROCESS"]`` on (the default where the platform allows it)
the job goes to the front process's own child process (``sidecar.py``), so
replaying to Flask, learning noise, comparing and storing take no CPU time
and no GIL from the threads answering users. Off, the same jobs run in
worker threads of the front process (``LocalWorkers``), which is also what
the child process runs them with: one job-running code path for both modes.

Counts (compared, differing, dropped) are kept in memory by whoever runs
the jobs and written in batches (``tally.py``): after a job once a second
at most, when a worker has been idle for a second, and on ``join``.
"""

from __future__ import annotations

from typing import Protocol

from ..conf import conf_cache
from .pool import WorkerPool
from .settings import shadow_settings
from .tally import Tallies


class Job(Protocol):
    """Shadow work as plain data: sendable to the child process as it is."""

    @property
    def drop_key(self) -> str | None:
        """The route a dropped job is counted under (None: not counted)."""

    def run(self) -> None:
        """Do the work (in a worker thread, in whichever process runs jobs)."""

    def without_bodies(self) -> Job | None:
        """A smaller copy for when this one is too large to send (None: none is smaller)."""


class ShadowWorkers(Protocol):
    """What the request path and the tests use, in either mode."""

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False when it was dropped (and counted). Never blocks."""

    def join(self) -> None:
        """Wait until every job submitted so far has run and every count is written."""

    def close(self) -> None:
        """Stop (settings changed, tests); queued jobs still run."""


def _write_tally(route: str, compared: int, differing: int, dropped: int) -> None:
    from .store import count  # imported late: models need the app registry

    count(route, compared=compared, differing=differing, dropped=dropped)


@conf_cache
def tallies() -> Tallies:
    """This process's counts per route, written to ``ShadowTally`` in batches."""
    return Tallies(_write_tally)


def count_drops(drops: dict[str, int]) -> None:
    """Count jobs dropped per route (written with the next batch)."""
    counts = tallies()
    for route, dropped in drops.items():
        counts.add(route, dropped=dropped)


def _write_counts_if_due() -> None:
    tallies().flush_if_due()


class LocalWorkers:
    """Jobs run by worker threads of this process, from a queue of ``size``."""

    def __init__(self, *, size: int, workers: int) -> None:
        self.pool = WorkerPool(size=size, workers=workers, tick=_write_counts_if_due)

    def submit(self, job: Job) -> bool:
        """Queue ``job``; when the queue is full, count it as dropped. Never blocks."""
        if self.pool.submit(job.run):
            return True
        key = job.drop_key
        if key is not None:
            tallies().add(key, dropped=1)
        return False

    def join(self) -> None:
        """Wait for the queue to empty, then write the counts."""
        self.pool.join()
        tallies().flush()

    def close(self) -> None:
        """Let queued jobs finish, stop the threads, write the counts."""
        self.pool.close()
        tallies().flush()


def local_workers() -> LocalWorkers:
    """Worker threads sized by ``QUEUE_SIZE`` and ``WORKERS``."""
    conf = shadow_settings()
    return LocalWorkers(size=conf.queue_size, workers=conf.workers)


@conf_cache
def shadow_workers() -> ShadowWorkers:
    """This process's shadow workers (rebuilt, the old ones stopped, when settings change)."""
    if shadow_settings().process:
        from .sidecar import Sidecar

        return Sidecar()
    return local_workers()
