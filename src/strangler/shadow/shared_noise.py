"""Learned noise kept in the cache every front uses (``STRANGLER["CACHE"]``).

Without it each process learns each route's noise alone, and again after
every restart: a new process sends its first ``NOISE_WARMUP`` requests of a
route to Flask twice before it compares. Here a route's noisy fields are one
cache entry, so every front process (and the next one after a restart) uses
what any of them learned. An entry is read at most once per ``refresh``
seconds per process, and expires ``ttl`` seconds after it last grew, so a
field Flask stopped varying is compared again one day.

Two processes adding at the same moment can lose one addition (read, add,
write); the field is then learned again by the next sampled pair. Noise only
ever removes fields from comparisons, so a lost addition costs a false
difference at worst, never a hidden real one.
"""

from __future__ import annotations

import hashlib
import threading
import time

from django.core.cache import caches

# Seconds a process keeps a route's shared noise before reading it again.
REFRESH = 5.0
# Seconds a route's shared noise is kept after it last grew.
TTL = 24 * 60 * 60


def cache_key(route: str) -> str:
    """The cache key of ``route``'s noise (hashed: routes are long and may hold any character)."""
    digest = hashlib.sha256(route.encode()).hexdigest()[:32]
    return f"strangler:shadow:noise:v1:{digest}"


class CachedNoise:
    """``noise.SharedNoise`` over a Django cache. Thread-safe."""

    def __init__(self, alias: str, *, refresh: float = REFRESH, ttl: int = TTL) -> None:
        self.alias = alias
        self.refresh = refresh
        self.ttl = ttl
        self._lock = threading.Lock()
        self._read: dict[str, tuple[float, frozenset[str] | None]] = {}

    def fields(self, route: str) -> frozenset[str] | None:
        """``route``'s noisy fields as of at most ``refresh`` seconds ago."""
        now = time.monotonic()
        with self._lock:
            known = self._read.get(route)
        if known is not None and now - known[0] < self.refresh:
            return known[1]
        stored = caches[self.alias].get(cache_key(route))
        fields = frozenset(stored) if isinstance(stored, list | tuple | set | frozenset) else None
        with self._lock:
            self._read[route] = (now, fields)
        return fields

    def add(self, route: str, fields: set[str]) -> None:
        """Add ``fields`` to ``route``'s entry (created, empty or not, when missing)."""
        cache = caches[self.alias]
        key = cache_key(route)
        stored = cache.get(key)
        known = set(stored) if isinstance(stored, list | tuple | set | frozenset) else set()
        merged = known | fields
        cache.set(key, sorted(merged), timeout=self.ttl)
        with self._lock:
            self._read[route] = (time.monotonic(), frozenset(merged))
