"""Small shadow jobs for tests of where jobs run (importable by the shadow child process)."""

from __future__ import annotations

from dataclasses import dataclass

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
