"""Server-sent events: the time from Flask's ``yield`` to the client's read, per event.

``benchmarks/flask_app.py``'s ``/events`` stamps every event with the
``time.monotonic_ns()`` at which Flask yielded it; the client stamps its own
read with the same system-wide clock. The difference is what the path in
between (a front, or nothing for Flask direct) adds to an event, plus the
client's own parsing, which every row pays alike.
"""

from __future__ import annotations

import http.client
import statistics
import time
from dataclasses import dataclass, field


@dataclass
class SseResult:
    events: int
    p50_us: float
    p99_us: float
    max_us: float
    delays_us: list[float] = field(default_factory=list, repr=False)


def measure_sse(port: int, count: int = 200, interval: float = 0.005) -> SseResult:
    """Read ``count`` events ``interval`` s apart through 127.0.0.1:``port``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", f"/events?count={count}&interval={interval}")
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET /events answered {response.status}")
        delays: list[float] = []
        buffer = b""
        while len(delays) < count:
            chunk = response.read1(65536)
            read_at = time.monotonic_ns()
            if not chunk:
                raise RuntimeError(f"the event stream ended after {len(delays)} of {count}")
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data: "):
                        delays.append((read_at - int(line[6:])) / 1000)
        response.read()
    finally:
        conn.close()
    ordered = sorted(delays)
    return SseResult(
        events=len(delays),
        p50_us=statistics.median(ordered),
        p99_us=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        max_us=ordered[-1],
        delays_us=delays,
    )
