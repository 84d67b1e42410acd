"""Learned noise: fields that differ between two Flask answers to the same request.

Hand-written ignore lists miss things (a request id in a footer, a cache
timestamp). As Twitter's Diffy did with a primary and a secondary, a sample of
shadowed requests is sent to Flask twice; a field whose value differs between
the two Flask answers cannot be expected to match Django's either, so it is
marked noisy for that route and left out of every later comparison. A real
difference stays visible because Flask agrees with itself on it.

Noise is per route and per process, learned again after a restart: the first
``NOISE_WARMUP`` requests of each route are always sent twice, so a new
process knows a route's noise before it reports on it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

from .compare import differing_paths
from .fields import Answer, answer_fields
from .paths import PathSet, render


class NoiseModel:
    """Noisy field paths per route, learned from pairs of Flask answers. Thread-safe."""

    def __init__(self, *, warmup: int, sample: float, rng: random.Random | None = None) -> None:
        self.warmup = warmup
        self.sample = sample
        self._rng = rng or random.Random()  # noqa: S311 (sampling, not security)
        self._lock = threading.Lock()
        self._noisy: dict[str, set[str]] = {}
        self._samples: dict[str, int] = {}

    def wants_sample(self, route: str) -> bool:
        """Should this request of ``route`` be sent to Flask a second time?

        A warm-up slot is taken when granted, so workers asking at once never
        take more than ``warmup`` of them between them.
        """
        with self._lock:
            granted = self._samples.get(route, 0)
            if granted < self.warmup:
                self._samples[route] = granted + 1
                return True
        return self._rng.random() < self.sample

    def learn(self, route: str, first: Answer, second: Answer, headers: Sequence[str]) -> set[str]:
        """Mark fields differing between two Flask answers noisy; return the new ones."""
        paths = {
            render(path)
            for path in differing_paths(
                answer_fields(first, headers), answer_fields(second, headers)
            )
        }
        with self._lock:
            known = self._noisy.setdefault(route, set())
            new = paths - known
            known |= new
        return new

    def noisy(self, route: str) -> PathSet:
        """The learned noise of ``route``, for ``compare(noise=...)``."""
        with self._lock:
            return PathSet(exact=frozenset(self._noisy.get(route, ())))

    def snapshot(self) -> dict[str, list[str]]:
        """route -> sorted noisy fields, for reports."""
        with self._lock:
            return {route: sorted(paths) for route, paths in self._noisy.items() if paths}
