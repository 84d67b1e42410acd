"""Learned noise: fields that differ between two Flask answers to the same request.

Hand-written ignore lists miss things (a request id in a footer, a cache
timestamp). As Twitter's Diffy did with a primary and a secondary, a sample of
shadowed requests is sent to Flask twice; a field whose value differs between
the two Flask answers cannot be expected to match Django's either, so it is
marked noisy for that route and left out of every later comparison. A real
difference stays visible because Flask agrees with itself on it.

Noise is per route. The first ``NOISE_WARMUP`` requests of each route are
always sent twice, so a process knows a route's noise before it reports on
it. With a ``shared`` store (``shared_noise.py``: the cache every front
uses) what one process learned is seen by all, and by a restarted one: a
process finding a route's noise there skips that route's warm-up.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Protocol

from .compare import differing_paths
from .fields import Answer, answer_fields, surely_same
from .paths import PathSet, render


class SharedNoise(Protocol):
    """Noise learned by every process, kept where all of them read it."""

    def fields(self, route: str) -> frozenset[str] | None:
        """The noisy fields of ``route`` (None: no process finished its warm-up yet)."""

    def add(self, route: str, fields: set[str]) -> None:
        """Add ``fields`` (perhaps none: the warm-up is done) to ``route``'s noise."""


class NoiseModel:
    """Noisy field paths per route, learned from pairs of Flask answers. Thread-safe."""

    def __init__(
        self,
        *,
        warmup: int,
        sample: float,
        rng: random.Random | None = None,
        shared: SharedNoise | None = None,
    ) -> None:
        self.warmup = warmup
        self.sample = sample
        self._rng = rng or random.Random()  # noqa: S311 (sampling, not security)
        self._shared = shared
        self._lock = threading.Lock()
        self._noisy: dict[str, set[str]] = {}
        self._samples: dict[str, int] = {}
        self._learned: dict[str, int] = {}

    def wants_sample(self, route: str) -> bool:
        """Should this request of ``route`` be sent to Flask a second time?

        A warm-up slot is taken when granted, so workers asking at once never
        take more than ``warmup`` of them between them. A route whose noise
        another process already learned needs no warm-up here.
        """
        with self._lock:
            granted = self._samples.get(route, 0)
        shared = self._shared
        if granted < self.warmup and shared is not None and shared.fields(route) is not None:
            with self._lock:
                self._samples[route] = self.warmup
        with self._lock:
            granted = self._samples.get(route, 0)
            if granted < self.warmup:
                self._samples[route] = granted + 1
                return True
        return self._rng.random() < self.sample

    def learn(self, route: str, first: Answer, second: Answer, headers: Sequence[str]) -> set[str]:
        """Mark fields differing between two Flask answers noisy; return the new ones."""
        if surely_same(first, second, headers):
            paths: set[str] = set()
        else:
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
            learned = self._learned[route] = self._learned.get(route, 0) + 1
            # Shared from the end of this process's warm-up on: an entry in the shared
            # store tells other processes that a warm-up is done (noise or not).
            share = set(known) if learned == self.warmup else new
        if (
            self._shared is not None
            and learned >= self.warmup
            and (share or learned == self.warmup)
        ):
            self._shared.add(route, share)
        return new

    def noisy(self, route: str) -> PathSet:
        """The learned noise of ``route`` (here and, when shared, anywhere), for ``compare``."""
        shared = self._shared.fields(route) if self._shared is not None else None
        with self._lock:
            return PathSet(exact=frozenset(self._noisy.get(route, ())) | (shared or frozenset()))

    def snapshot(self) -> dict[str, list[str]]:
        """route -> sorted noisy fields, for reports."""
        with self._lock:
            return {route: sorted(paths) for route, paths in self._noisy.items() if paths}
