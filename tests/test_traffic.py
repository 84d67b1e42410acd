"""Traffic: the histogram's precision, merging across processes and fronts, outages, restarts."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request

import pytest
from django.core.cache import caches
from hypothesis import given
from hypothesis import strategies as st

from strangler.traffic import RouteStats, TrafficRecorder, read_traffic


@given(st.lists(st.floats(min_value=0.0002, max_value=30.0), min_size=1, max_size=300))
def test_percentiles_are_within_a_bucket_of_the_truth(latencies: list[float]) -> None:
    stats = RouteStats()
    for seconds in latencies:
        stats.add(200, seconds)
    ordered = sorted(latencies)
    true_p50 = ordered[max(0, -(-len(ordered) // 2) - 1)]  # the nearest-rank median
    p50 = stats.percentile(0.5)
    assert p50 is not None
    assert true_p50 <= p50 <= true_p50 * 1.25 + 1e-12


@given(st.lists(st.tuples(st.integers(100, 599), st.floats(0, 5)), max_size=60), st.data())
def test_merging_parts_equals_counting_the_whole(requests, data) -> None:
    cut = data.draw(st.integers(0, len(requests)))
    whole, left, right = RouteStats(), RouteStats(), RouteStats()
    for index, (status, seconds) in enumerate(requests):
        whole.add(status, seconds)
        (left if index < cut else right).add(status, seconds)
    left.merge(right)
    assert (left.hits, left.statuses, left.buckets) == (whole.hits, whole.statuses, whole.buckets)
    assert RouteStats.from_wire(json.loads(json.dumps(whole.to_wire()))).buckets == whole.buckets


@pytest.fixture
def redis_cache(settings, throwaway_redis):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": throwaway_redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return throwaway_redis


def test_concurrent_flushes_from_many_processes_lose_nothing(redis_cache) -> None:
    recorders = [TrafficRecorder("default", flush_every=3600) for _ in range(6)]
    for number, recorder in enumerate(recorders):
        for _ in range(100 + number):
            recorder.record("/api/users/<int:id>", "GET", "django", 200, 0.003)
        recorder.record("/files/<path:name>", "GET", "flask", 502, 0.2)
    threads = [threading.Thread(target=recorder.flush) for recorder in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    traffic = read_traffic()
    assert traffic[("/api/users/<int:id>", "GET", "django")].hits == sum(range(100, 106))
    assert traffic[("/files/<path:name>", "GET", "flask")].errors == 6


def test_counts_survive_a_cache_outage(redis_cache, tmp_path) -> None:
    recorder = TrafficRecorder("default", flush_every=3600)
    recorder.record("/a", "GET", "flask", 200, 0.01)
    assert recorder.flush()
    redis_cache.stop()
    recorder.record("/a", "GET", "flask", 200, 0.01)
    recorder.record("/a", "GET", "flask", 200, 0.01)
    assert not recorder.flush()  # kept in memory, no exception on the request path
    # Redis comes back (empty: it kept nothing on disk) on the same port.
    restarted = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_cache.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        from tests.conftest import wait_for_port

        wait_for_port(redis_cache.port, restarted)
        caches["default"].close()
        assert recorder.flush()
        assert read_traffic()[("/a", "GET", "flask")].hits == 2
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
        return response.status


def test_fronts_add_to_one_aggregate_that_outlives_them(upstream, redis_cache) -> None:
    """Two gunicorn fronts count into one Redis; a stopped front flushes on its way out."""
    from tests.conftest import start_front

    def env(flush: float) -> dict[str, str]:
        extra = {"TRAFFIC_FLUSH": flush, "FLASK_APP": "tests.porting_app:app"}
        return {
            "STRANGLER_TEST_REDIS_URL": redis_cache.url,
            "STRANGLER_TEST_EXTRA": json.dumps(extra),
        }

    first = start_front(upstream.url, env(0.5))
    second = start_front(upstream.url, env(3600))
    try:
        for number in range(5):
            assert _get(f"{first.url}/api/users/{number}") == 200
        for number in range(3):
            assert _get(f"{second.url}/api/users/{number}") == 200
        assert _get(f"{second.url}/files/a/b.txt") == 200
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            stats = read_traffic().get(("/api/users/<int:user_id>", "GET", "django"))
            if stats and stats.hits == 5:
                break
            time.sleep(0.1)
        assert stats is not None
        assert stats.hits == 5  # the first front's periodic flush
        second.process.terminate()  # its flush interval never came: it flushes at exit
        second.process.wait(timeout=10)
        traffic = read_traffic()
        assert traffic[("/api/users/<int:user_id>", "GET", "django")].hits == 8
        # Labelled with the Flask rule; a forwarded request counts on Flask's side.
        assert traffic[("/files/<path:name>", "GET", "flask")].hits == 1
        p50 = traffic[("/api/users/<int:user_id>", "GET", "django")].percentile(0.5)
        assert p50 is not None
        assert 0 < p50 < 1.0
    finally:
        for front in (first, second):
            if front.process.poll() is None:
                front.process.terminate()
                front.process.wait(timeout=10)
