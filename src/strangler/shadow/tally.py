"""Counts per route kept in memory and written in batches, not once per request.

At 100% sampling a busy route is compared hundreds of times a second; one
``UPDATE`` per comparison would make the database the shadow workers'
bottleneck (and the queue would overflow for no good reason). The workers
add to these counters and write them at most once per ``interval`` seconds
while busy, and as soon as the queue runs empty, so what ``strangler_shadow``
shows trails the truth by at most that much. No
framework imports: the writer is passed in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Counts = dict[str, list[int]]  # route -> [compared, differing, dropped]
Writer = Callable[[str, int, int, int], None]


class Tallies:
    """Thread-safe counters per route, flushed to ``write`` in batches."""

    def __init__(self, write: Writer, *, interval: float = 1.0) -> None:
        self._write = write
        self._interval = interval
        self._lock = threading.Lock()
        self._counts: Counts = {}
        self._last_flush = time.monotonic()

    def add(self, route: str, *, compared: int = 0, differing: int = 0, dropped: int = 0) -> None:
        """Count for ``route``; nothing is written yet."""
        with self._lock:
            counts = self._counts.setdefault(route, [0, 0, 0])
            counts[0] += compared
            counts[1] += differing
            counts[2] += dropped

    def flush_if_due(self) -> None:
        """Write the counts when ``interval`` has passed since the last write."""
        if time.monotonic() - self._last_flush >= self._interval:
            self.flush()

    def flush(self) -> None:
        """Write every count now (and start counting from zero)."""
        with self._lock:
            counts, self._counts = self._counts, {}
            self._last_flush = time.monotonic()
        for route, (compared, differing, dropped) in counts.items():
            self._write(route, compared, differing, dropped)
