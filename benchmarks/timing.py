"""Latency of sequential requests on one keep-alive connection, and percentiles of it."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterable


def keep_alive_latencies(
    port: int, targets: Iterable[str], headers: dict[str, str] | None = None
) -> list[float]:
    """GET each of ``targets`` in turn on one keep-alive connection to 127.0.0.1; ms each.

    Raises ``RuntimeError`` on an answer other than 200: a benchmark must not
    time error pages.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    try:
        for target in targets:
            start = time.perf_counter()
            connection.request("GET", target, headers=headers or {})
            response = connection.getresponse()
            response.read()
            samples.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                raise RuntimeError(f"GET {target} on port {port} answered {response.status}")
    finally:
        connection.close()
    return samples


def percentile(values: list[float], fraction: float) -> float:
    """The value ``fraction`` of the way up the sorted ``values`` (0.5: the median)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
