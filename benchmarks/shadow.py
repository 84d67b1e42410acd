"""Shadow benchmark: what shadow mode at 100% sampling costs the user.

The same ported JSON route (``GET /api/items``, ~1.5 KiB) through two Django
fronts (gunicorn, one gthread worker, 4 threads): one where Django simply
answers, one where the route is in ``shadow`` mode at 100% sampling, so every
request is also replayed to Flask (gunicorn) and compared by the shadow
workers in the same process. One keep-alive client, requests interleaved in
rounds so that drift hits both alike. Target: the user's p50 grows by under 5%.

Every server listens on 127.0.0.1 and is stopped at the end, errors included.

    .venv/bin/python benchmarks/shadow.py [--requests 3000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.sections import write_section  # noqa: E402
from benchmarks.servers import Servers  # noqa: E402

SECTION = "## Shadow"
PATH = "/api/items"


def latencies(port: int, count: int) -> list[float]:
    """``count`` sequential GETs on one keep-alive connection, each in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            connection.request("GET", PATH)
            response = connection.getresponse()
            response.read()
            samples.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                raise RuntimeError(f"GET {PATH} on port {port} answered {response.status}")
    finally:
        connection.close()
    return samples


def migrate(database: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.shadow_settings",
        "BENCH_DB": str(database),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def tallies(database: Path) -> tuple[int, int, int]:
    """(compared, differing, dropped) summed over routes, as the shadow workers stored them."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT COALESCE(SUM(compared), 0), COALESCE(SUM(differing), 0), "
            "COALESCE(SUM(dropped), 0) FROM strangler_shadowtally"
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def measure(workdir: Path, requests: int) -> tuple[dict[str, list[float]], tuple[int, int, int]]:
    database = workdir / "bench.sqlite3"
    migrate(database)
    app = "django.core.wsgi:get_wsgi_application()"
    with Servers(workdir) as run:
        flask = run.gunicorn("flask", "benchmarks.shadow_app:app")
        front = {
            "DJANGO_SETTINGS_MODULE": "benchmarks.shadow_settings",
            "BENCH_DB": str(database),
            "BENCH_UPSTREAM": flask.url,
        }
        plain = run.gunicorn("front-plain", app, {**front, "BENCH_SHADOW": "0"})
        shadow = run.gunicorn("front-shadow", app, {**front, "BENCH_SHADOW": "1"})
        configs = {
            "Flask direct (for scale)": flask.port,
            "Django answers, not shadowed": plain.port,
            "Django answers, shadow at 100%": shadow.port,
        }
        samples: dict[str, list[float]] = {name: [] for name in configs}
        for port in configs.values():
            latencies(port, 200)  # warm up: imports, pools, the shadow workers, learned noise
        rounds = 10
        for _ in range(rounds):
            for name, port in configs.items():
                samples[name] += latencies(port, requests // rounds)
        time.sleep(2)  # let the shadow workers finish what is queued
        counts = tallies(database)
    return samples, counts


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(
    samples: dict[str, list[float]],
    counts: tuple[int, int, int],
    requests: int,
    load: tuple[float, float],
) -> str:
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    base = p50["Django answers, not shadowed"]
    shadowed = p50["Django answers, shadow at 100%"]
    growth = shadowed / base - 1
    compared, differing, dropped = counts
    lines = [
        SECTION,
        "",
        "Measured by `benchmarks/shadow.py` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} (load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after: a machine shared with other work, so figures move by tens of "
        "percent between runs; compare the rows of one run). Every server on 127.0.0.1; "
        "gunicorn with one gthread worker (4 threads) for each Django front and for Flask; "
        "the shadow workers (2 threads) run inside the shadowed front's worker process.",
        "",
        f"`GET {PATH}` (a 1.5 KiB JSON answer), one keep-alive client, {requests} requests "
        "per row, interleaved in 10 rounds:",
        "",
        "| configuration | p50 ms | p90 ms | p99 ms | p50 vs not shadowed |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in samples.items():
        ratio = f"{p50[name] / base:.2f}x" if name.startswith("Django") else ""
        lines.append(
            f"| {name} | {p50[name]:.3f} | {percentile(values, 0.9):.3f} | "
            f"{percentile(values, 0.99):.3f} | {ratio} |"
        )
    verdict = "meets" if growth < 0.05 else "misses"
    note = ""
    if growth < 0:
        note = (
            "; the shadowed front came out faster, which shadow cannot cause: the gap "
            "between the two fronts is this machine's noise, and larger than shadow's cost"
        )
    p90 = {name: percentile(values, 0.9) for name, values in samples.items()}
    tail = p90["Django answers, shadow at 100%"] / p90["Django answers, not shadowed"] - 1
    lines += [
        "",
        f"The shadow workers compared {compared} requests ({differing} differed, {dropped} "
        f"dropped because the queue was full) during the run, warm-up included: the "
        f"replay to Flask really happened. Against the target (the user's p50 grows by under "
        f"5% at 100% sampling): {growth * 100:+.1f}%, so it {verdict} the target in this "
        f"run{note}. The p90 moved by {tail * 100:+.1f}%: the worker threads' CPU (the replay, "
        "the second Flask call for learned noise, the comparison) is taken from the same "
        "process and the same 2 CPUs, and shows in the tail first. On the request path "
        "itself shadow mode costs a sampling decision, keeping Django's answer and one "
        "non-blocking queue put.",
        "",
        (
            "What was tried, in earlier runs of this benchmark on this machine: with neither of "
            "the two measures below the p50 grew by +31% and the p90 by +284%; the shadow workers"
            " now run at nice +10 (their own threads only) and, while they run, the GIL switch "
            "interval is 0.5 ms instead of 5 ms (a request thread no longer waits up to 5 ms for "
            "a busy worker to let go of the GIL), which brought runs to +17% to +26%. What "
            "remains is CPU: at 100% sampling every request is also sent to Flask (and some "
            "twice, for noise) and compared in the same process, on 2 CPUs shared with Flask, the"
            " client and other work. To stay within 5%, sample (SAMPLE 0.1 is a tenth of this "
            "work) or give the front more CPUs than it needs for its own requests."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per configuration")
    parser.add_argument("--write", type=Path, help="replace the Shadow section of this file")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="strangler-bench-shadow-") as tmp:
        samples, counts = measure(Path(tmp), args.requests)
    section = report(samples, counts, args.requests, (load_before, os.getloadavg()[0]))
    print(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
