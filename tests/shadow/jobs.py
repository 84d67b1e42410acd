"""Small shadow jobs for tests of where jobs run (importable by the shadow child process)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from strangler.shadow.workers import tallies


@dataclass(frozen=True)
class CountedJob:
    """Counts one comparison for ``route``, as a shadow job would after comparing."""

    route: str
    payload: bytes = b""

    @property
    def drop_key(self) -> str:
        return self.route

    def without_bodies(self) -> CountedJob | None:
        return CountedJob(self.route) if self.payload else None

    def run(self) -> None:
        tallies().add(self.route, compared=1, differing=int(bool(self.payload)))


@dataclass(frozen=True)
class IdleJob:
    """Does nothing: starts a shadow child process without touching the database."""

    @property
    def drop_key(self) -> None:
        return None

    def without_bodies(self) -> None:
        return None

    def run(self) -> None:
        return None


@dataclass(frozen=True)
class PicklingNoted(CountedJob):
    """A ``CountedJob`` that notes which thread of the front pickled it."""

    threads: ClassVar[list[str]] = []

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        PicklingNoted.threads.append(threading.current_thread().name)
        return CountedJob, (self.route, self.payload)


@dataclass(frozen=True)
class Unpicklable(CountedJob):
    """A job whose pickling fails, as a request that cannot be copied would."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        raise TypeError("this job cannot be pickled")


@dataclass(frozen=True)
class GatedJob(CountedJob):
    """A ``CountedJob`` whose pickling waits for ``gate``: a send under way, held open."""

    gate: ClassVar[threading.Event] = threading.Event()
    pickling: ClassVar[threading.Event] = threading.Event()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        GatedJob.pickling.set()
        GatedJob.gate.wait(10)
        return CountedJob, (self.route, self.payload)
