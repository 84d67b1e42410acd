"""Learned noise in the shared cache (strangler/shadow/shared_noise.py), on the test cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import caches

from strangler.shadow.shared_noise import CachedNoise, cache_key

ROUTE = "/api/samples/<int:pk>"


@pytest.fixture(autouse=True)
def forget() -> Iterator[None]:
    caches["default"].delete(cache_key(ROUTE))
    yield
    caches["default"].delete(cache_key(ROUTE))


def test_what_one_process_adds_another_reads() -> None:
    one, other = CachedNoise("default"), CachedNoise("default", refresh=0.0)
    assert other.fields(ROUTE) is None  # nobody warmed this route up
    one.add(ROUTE, set())
    assert other.fields(ROUTE) == frozenset()  # warmed up, no noise
    one.add(ROUTE, {"body.at"})
    CachedNoise("default").add(ROUTE, {"body.id"})
    assert other.fields(ROUTE) == frozenset({"body.at", "body.id"})


def test_an_entry_is_read_again_only_after_refresh() -> None:
    reader = CachedNoise("default", refresh=3600.0)
    assert reader.fields(ROUTE) is None
    CachedNoise("default").add(ROUTE, {"body.at"})
    assert reader.fields(ROUTE) is None  # kept for an hour: no cache read per comparison
    assert CachedNoise("default").fields(ROUTE) == frozenset({"body.at"})


def test_the_key_is_bounded_whatever_the_route() -> None:
    assert cache_key("/" + "x" * 5000) != cache_key("/" + "x" * 4999)
    assert len(cache_key("/" + "x" * 5000)) < 100
