"""What deciding and counting cost per request: the routing decision plus traffic recording.

Two measurements, side by side:

1. **In-process, µs per request** (one thread, no I/O): ``decide_request`` (switches,
   ``ROUTES`` rules with methods, the URLconf, the Flask rule label) and
   ``record_request`` (the traffic table), against the same loop with both off.
   Paths repeat (the cached decision) and, as a worst case, every path new (an
   id never seen: the decision is computed, the URLconf and Flask's url_map are
   matched).
2. **Through gunicorn, the forwarded small page's p50**: the same front (the WSGI
   fast path, HTTP transport to Flask under gunicorn) with 20 rules, 10
   switches and traffic recording on, against the same front whose decision is
   a constant and recording off. Requests alternate between the two fronts so
   drift on a busy machine hits both alike.

    .venv/bin/python benchmarks/routing.py [--requests 3000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.sections import write_section  # noqa: E402
from benchmarks.servers import Servers  # noqa: E402

SECTION = "## Routing and traffic"
ROUTES = {
    **{f"GET,HEAD /api/v{i}/users/*": "django" for i in range(10)},
    **{f"/reports/{i}/**": "flask" for i in range(9)},
    "POST /api/orders/*": "shadow",
}
SWITCHES = [
    {
        "pattern": f"/api/v{i}/items/*",
        "methods": "GET" if i % 2 else "",
        "owner": "flask",
        "percent": 100 if i % 3 else 20,
    }
    for i in range(10)
]


def front_env(cache_dir: str, *, porting: bool) -> dict[str, str]:
    strangler = {
        "ROUTES": ROUTES,
        "FLASK_APP": "benchmarks.flask_app:app",
        "TRAFFIC": porting,
        "SWITCH_TTL": 5,
    }
    return {
        "DJANGO_SETTINGS_MODULE": "benchmarks.django_project.settings",
        "BENCH_FRONT": "strangler",
        "BENCH_HANDLER": "strangler",
        "BENCH_STRANGLER": json.dumps(strangler),
        "BENCH_CACHE_DIR": cache_dir,
        "BENCH_DECISION": "on" if porting else "off",
    }


def setup_django(cache_dir: str) -> None:
    os.environ.update(front_env(cache_dir, porting=True))
    import django

    django.setup()
    from django.core.cache import caches

    from strangler.switches import CACHE_KEY

    caches["default"].set(CACHE_KEY, SWITCHES, timeout=None)


def per_call_us(function: Any, items: list[Any], rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean µs per call of ``function(item)``."""
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            function(item)
        results.append((time.perf_counter() - started) / len(items) * 1e6)
    return statistics.median(results)


def in_process(count: int) -> dict[str, float]:
    from django.core.handlers.wsgi import WSGIRequest
    from django.test import RequestFactory

    from strangler.routing import decide_path, decide_request
    from strangler.traffic import record_request, traffic_recorder

    factory = RequestFactory()
    repeated = [factory.get("/hello") for _ in range(count)]
    fresh = [factory.get(f"/api/v{i % 10}/users/{i}") for i in range(count)]
    decide_request(repeated[0])  # loads the switch table once
    for request in repeated:
        assert isinstance(request, WSGIRequest)

    def both(request: Any) -> None:
        started = time.perf_counter()
        decision = decide_request(request)
        record_request(decision, request.method, 200, started)

    def neither(request: Any) -> None:
        started = time.perf_counter()
        _ = (request.method, 200, started)

    result = {
        "neither": per_call_us(neither, repeated),
        "decide": per_call_us(decide_request, repeated),
        "both": per_call_us(both, repeated),
    }
    decide_path.cache_clear()
    result["both_new_path"] = per_call_us(both, fresh, rounds=1)
    traffic_recorder().flush()
    return result


def p50_through_fronts(requests: int, cache_dir: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as workdir, Servers(Path(workdir)) as servers:
        flask = servers.gunicorn("flask", "benchmarks.flask_app:app")
        project = "benchmarks.django_project.wsgi:application"
        fronts = {
            "on": servers.gunicorn(
                "porting-on",
                project,
                {**front_env(cache_dir, porting=True), "BENCH_UPSTREAM": flask.url},
            ),
            "off": servers.gunicorn(
                "porting-off",
                project,
                {**front_env(cache_dir, porting=False), "BENCH_UPSTREAM": flask.url},
            ),
        }
        connections = {
            name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            for name, server in fronts.items()
        }
        timings: dict[str, list[float]] = {name: [] for name in fronts}
        for index in range(requests + 200):
            for name in ("on", "off") if index % 2 else ("off", "on"):
                connection = connections[name]
                started = time.perf_counter()
                connection.request("GET", "/hello")
                response = connection.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200 or not body.startswith(b"<!doctype html>"):
                    raise RuntimeError(f"front {name!r} answered {response.status}: {body[:80]!r}")
                if index >= 200:  # warm-up: pools, caches, the first switch-table load
                    timings[name].append(elapsed)
        for connection in connections.values():
            connection.close()
    return {name: statistics.median(values) * 1e6 for name, values in timings.items()}


def render(
    micro: dict[str, float], p50: dict[str, float], requests: int, load: tuple[float, float]
) -> str:
    overhead = micro["both"] - micro["neither"]
    ratio = p50["on"] / p50["off"]
    return "\n".join(
        [
            SECTION,
            "",
            "`benchmarks/routing.py`: the decision (10 switches in the cache, 20 `ROUTES` rules "
            "with methods, the URLconf, the Flask rule as the traffic label) plus traffic "
            f"recording, against the same work with both off. One run on {os.cpu_count()} CPUs "
            f"(load average {load[0]:.1f} before, {load[1]:.1f} after); the load generator and "
            "the servers share the CPUs: read the ratios, not the absolute figures.",
            "",
            "| in-process, one thread | µs per request |",
            "|---|---|",
            f"| both off (the loop alone) | {micro['neither']:.2f} |",
            f"| decision only, path seen before | {micro['decide']:.2f} |",
            f"| decision + recording, path seen before | {micro['both']:.2f} |",
            f"| decision + recording, every path new (worst case) | {micro['both_new_path']:.2f} |",
            f"| **added by decision + recording** (target < 50 µs) | **{overhead:.2f}** |",
            "",
            f"| through gunicorn, forwarded small page, {requests} requests each, alternating | "
            "p50 |",
            "|---|---|",
            f"| same front, decision constant and recording off | {p50['off']:.0f} µs |",
            f"| decision + recording on | {p50['on']:.0f} µs (ratio {ratio:.3f}; target ≤ 1.05) |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--write", type=Path, help="replace this benchmark's section of a file")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache_dir:
        setup_django(cache_dir)
        micro = in_process(20_000)
        p50 = p50_through_fronts(args.requests, cache_dir)
    text = render(micro, p50, args.requests, (load_before, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
