"""Traffic per route, method and side: hits, status classes, latency percentiles.

Recording is off the hot path: a request adds to an in-process table (a
lock, a dict lookup, a few integer additions) and a background thread
merges that table into one aggregate in the cache named by
``STRANGLER["CACHE"]`` every ``TRAFFIC_FLUSH`` seconds, so every worker of
every front adds to the same numbers, no request writes to the database,
and the numbers outlive restarts as long as the cache keeps them (Redis
with persistence, or the database cache). A process flushes what it holds
when it exits.

Routes are labels, not raw paths (the Flask rule or the Django pattern, see
``strangler.routing.Decision``), so the table stays as small as the app.

Latency is kept as a histogram with buckets 25% apart, so the percentiles
read from it (and merged across processes exactly) are within 25% of the
true value; the p50 and p95 reported are the upper edge of the bucket.
Latency is measured to the response's headers (the upstream answered, or
Django's view returned), not to the end of a streamed body.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from django.core.cache import caches

from .conf import conf_cache, get_conf
from .routing import Decision

logger = logging.getLogger("strangler.traffic")

CACHE_KEY = "strangler:traffic:v1"
LOCK_KEY = "strangler:traffic:lock"
# Upper edges of the latency buckets in seconds: 0.1 ms x 1.25^i, up to ~2 minutes.
BUCKETS: tuple[float, ...] = tuple(0.0001 * 1.25**i for i in range(64))
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

Key = tuple[str, str, str]  # (route, method, side: "django" | "flask")


@dataclass
class RouteStats:
    """Counters for one (route, method, side)."""

    hits: int = 0
    statuses: list[int] = field(default_factory=lambda: [0] * 5)
    seconds: float = 0.0
    buckets: dict[int, int] = field(default_factory=dict)

    def add(self, status: int, seconds: float) -> None:
        """Count one request."""
        self.hits += 1
        index = min(max(status // 100 - 1, 0), 4)
        self.statuses[index] += 1
        self.seconds += seconds
        bucket = _bucket(seconds)
        self.buckets[bucket] = self.buckets.get(bucket, 0) + 1

    def merge(self, other: RouteStats) -> None:
        """Add ``other``'s counts to these."""
        self.hits += other.hits
        self.statuses = [a + b for a, b in zip(self.statuses, other.statuses, strict=True)]
        self.seconds += other.seconds
        for bucket, count in other.buckets.items():
            self.buckets[bucket] = self.buckets.get(bucket, 0) + count

    def percentile(self, q: float) -> float | None:
        """The latency (seconds, bucket upper edge) below which ``q`` of requests fell."""
        if not self.hits:
            return None
        rank = q * self.hits
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return BUCKETS[bucket] if bucket < len(BUCKETS) else float("inf")
        return BUCKETS[-1]

    @property
    def errors(self) -> int:
        """Answers with a 5xx status."""
        return self.statuses[4]

    def to_wire(self) -> list[Any]:
        """A compact, picklable and JSON-able form for the cache."""
        return [
            self.hits,
            self.statuses,
            self.seconds,
            {str(k): v for k, v in self.buckets.items()},
        ]

    @classmethod
    def from_wire(cls, data: list[Any]) -> RouteStats:
        """The inverse of ``to_wire``."""
        hits, statuses, seconds, buckets = data
        return cls(
            int(hits), list(statuses), float(seconds), {int(k): int(v) for k, v in buckets.items()}
        )


def _bucket(seconds: float) -> int:
    # Bisection over 64 edges: ~6 comparisons.
    low, high = 0, len(BUCKETS)
    while low < high:
        middle = (low + high) // 2
        if BUCKETS[middle] < seconds:
            low = middle + 1
        else:
            high = middle
    return low


class TrafficRecorder:
    """One process's not-yet-flushed counts, and the thread that flushes them."""

    def __init__(self, cache_alias: str, flush_every: float) -> None:
        self.cache_alias = cache_alias
        self.flush_every = flush_every
        self._pending: dict[Key, RouteStats] = {}
        self._lock = threading.Lock()
        self._flusher_pid: int | None = None
        self._stop = threading.Event()

    def record(self, route: str, method: str, side: str, status: int, seconds: float) -> None:
        """Count one request (the hot path: no I/O)."""
        key = (route, method, side)
        with self._lock:
            stats = self._pending.get(key)
            if stats is None:
                stats = self._pending[key] = RouteStats()
            stats.add(status, seconds)
        if self._flusher_pid != os.getpid():  # first request, or first after a fork
            self._start_flusher()

    def flush(self) -> bool:
        """Merge the pending counts into the shared aggregate; ``False`` if they were kept."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return True
        try:
            merged = self._merge_into_cache(pending)
        except Exception as exc:  # the cache is down: keep the counts for the next flush
            logger.warning("traffic: cache %r unavailable (%s); counts kept", self.cache_alias, exc)
            merged = False
        if not merged:
            with self._lock:
                for key, stats in pending.items():
                    self._pending.setdefault(key, RouteStats()).merge(stats)
        return merged

    def discard(self) -> None:
        """Forget the counts not flushed yet."""
        with self._lock:
            self._pending.clear()

    def _merge_into_cache(self, pending: dict[Key, RouteStats]) -> bool:
        cache = caches[self.cache_alias]
        token = uuid.uuid4().hex
        # A short lock (cache.add is atomic on every shared backend) so two
        # processes' read-merge-write cycles cannot overwrite each other.
        for _ in range(20):
            if cache.add(LOCK_KEY, token, timeout=10):
                break
            time.sleep(0.05)
        else:
            return False
        try:
            aggregate = _decode(cache.get(CACHE_KEY))
            for key, stats in pending.items():
                aggregate.setdefault(key, RouteStats()).merge(stats)
            cache.set(CACHE_KEY, _encode(aggregate), timeout=None)
        finally:
            if cache.get(LOCK_KEY) == token:
                cache.delete(LOCK_KEY)
        return True

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
        thread = threading.Thread(target=self._flush_forever, name="strangler-traffic", daemon=True)
        thread.start()

    def _flush_forever(self) -> None:
        while not self._stop.wait(self.flush_every):
            self.flush()

    def close(self) -> None:
        """Stop the flusher and flush what is left (also run at exit)."""
        self._stop.set()
        self.flush()


def _encode(aggregate: dict[Key, RouteStats]) -> dict[str, list[Any]]:
    return {"\t".join(key): stats.to_wire() for key, stats in aggregate.items()}


def _decode(data: Any) -> dict[Key, RouteStats]:
    if not isinstance(data, dict):
        return {}
    decoded: dict[Key, RouteStats] = {}
    for text, wire in data.items():
        route, method, side = text.split("\t")
        decoded[(route, method, side)] = RouteStats.from_wire(wire)
    return decoded


@conf_cache
def traffic_recorder() -> TrafficRecorder:
    """This process's recorder, built from ``CACHE`` and ``TRAFFIC_FLUSH``."""
    conf = get_conf()
    recorder = TrafficRecorder(str(conf["CACHE"]), float(conf["TRAFFIC_FLUSH"]))
    atexit.register(_flush_at_exit, recorder)
    return recorder


def _flush_at_exit(recorder: TrafficRecorder) -> None:
    try:
        recorder.flush()
    except Exception:  # at exit, the cache client may already be gone
        logger.debug("traffic: final flush failed", exc_info=True)


# Set on a request a Django view handed to Flask (``forward_to_flask``), so the
# middleware counts it on Flask's side.
HANDED_TO_FLASK = "_strangler_handed_to_flask"


def record_request(
    decision: Decision, method: str | None, status: int, started: float, *, flask: bool = False
) -> None:
    """Count a request an entry path answered: ``started`` is its ``perf_counter()``.

    Called by the middleware and the WSGI fast path, so the count and the
    clock cover the same steps whichever entry answered; ``flask`` says a
    Django view handed the request to Flask.
    """
    if get_conf()["TRAFFIC"]:
        side = "flask" if flask or decision.owner == "flask" else "django"
        traffic_recorder().record(
            decision.route, method or "GET", side, status, perf_counter() - started
        )


def read_traffic() -> dict[Key, RouteStats]:
    """The shared aggregate: every front's flushed counts. Empty if the cache is down."""
    try:
        return _decode(caches[str(get_conf()["CACHE"])].get(CACHE_KEY))
    except Exception as exc:
        logger.warning("traffic: cannot read the cache (%s)", exc)
        return {}


def hits_by_route(traffic: dict[Key, RouteStats]) -> dict[tuple[str, str], dict[str, int]]:
    """(route, method) → {"django": hits, "flask": hits}, for the inventory."""
    result: dict[tuple[str, str], dict[str, int]] = {}
    for (route, method, side), stats in traffic.items():
        result.setdefault((route, method), {})[side] = stats.hits
    return result


def stats_for(traffic: dict[Key, RouteStats], route: str, methods: list[str]) -> RouteStats:
    """``route``'s counts for ``methods``, both sides added (a status page row).

    ``"*"`` in ``methods`` stands for every method; HEAD is counted with GET.
    """
    wanted = set(methods) | ({"HEAD"} if "GET" in methods else set())
    result = RouteStats()
    for (label, method, _), stats in traffic.items():
        if label == route and ("*" in wanted or method in wanted):
            result.merge(stats)
    return result


def iter_stats(traffic: dict[Key, RouteStats]) -> Iterator[tuple[Key, RouteStats]]:
    """The aggregate in a stable order (route, method, side)."""
    yield from sorted(traffic.items())


def reset_traffic() -> None:
    """Forget the shared counts (and this process's pending ones)."""
    traffic_recorder().discard()
    caches[str(get_conf()["CACHE"])].delete(CACHE_KEY)
