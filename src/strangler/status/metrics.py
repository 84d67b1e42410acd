"""``/_strangler/metrics``: the shared traffic aggregate in Prometheus's text format.

Rendered by prometheus_client (``pip install django-strangler[metrics]``)
from the aggregate every front writes to the cache, so any front answers
for all of them: scrape one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpResponse

from ..traffic import BUCKETS, STATUS_CLASSES, RouteStats, iter_stats, read_traffic

MISSING = (
    "prometheus_client is not installed: pip install 'django-strangler[metrics]' "
    "to serve /_strangler/metrics.\n"
)


class TrafficCollector:
    """A prometheus_client collector over one snapshot of the aggregate."""

    def __init__(self, traffic: dict[tuple[str, str, str], RouteStats]) -> None:
        self.traffic = traffic

    def collect(self) -> Iterator[Any]:
        """Yield the request counter and the latency histogram."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        labels = ["route", "method", "side"]
        requests = CounterMetricFamily(
            "strangler_requests",
            "Requests by route, method, side and status class.",
            labels=[*labels, "status"],
        )
        latency = HistogramMetricFamily(
            "strangler_request_duration_seconds",
            "Time to the response's headers, by route, method and side.",
            labels=labels,
        )
        for (route, method, side), stats in iter_stats(self.traffic):
            for status, count in zip(STATUS_CLASSES, stats.statuses, strict=True):
                if count:
                    requests.add_metric([route, method, side, status], count)
            cumulative, buckets = 0, []
            for index, edge in enumerate(BUCKETS):
                cumulative += stats.buckets.get(index, 0)
                buckets.append((repr(edge), cumulative))
            buckets.append(("+Inf", stats.hits))
            latency.add_metric([route, method, side], buckets, sum_value=stats.seconds)
        yield requests
        yield latency


def render_metrics() -> HttpResponse:
    """The response for ``/_strangler/metrics`` (503 with a hint without prometheus_client)."""
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from prometheus_client.registry import CollectorRegistry
    except ImportError:
        return HttpResponse(MISSING, status=503, content_type="text/plain; charset=utf-8")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TrafficCollector(read_traffic()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
