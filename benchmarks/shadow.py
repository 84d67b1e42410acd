"""Shadow benchmark: what shadow mode at 100% sampling costs the user.

The same ported JSON route (``GET /api/items``, ~1.5 KiB) through three Django
fronts (gunicorn, one gthread worker, 4 threads): one where Django simply
answers, and two where the route is in ``shadow`` mode at 100% sampling, so
every request is also replayed to Flask (gunicorn) and compared: by the
front's shadow child process (``SHADOW["PROCESS"]``, the default on Linux),
and by shadow threads inside the front's worker process (``PROCESS: False``).
One keep-alive client, requests interleaved in rounds so that drift hits all
alike, in two placements with the same servers: every process free to run on
either CPU, then the user's path (client, fronts) on CPU 0 and what shadow
adds (the shadow children, Flask answering the copies) on CPU 1.
Target: the user's p50 grows by under 5%.

Every server listens on 127.0.0.1 and is stopped at the end, errors included.

    .venv/bin/python benchmarks/shadow.py [--requests 3000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.sections import write_section  # noqa: E402
from benchmarks.servers import Servers  # noqa: E402
from benchmarks.timing import keep_alive_latencies, percentile  # noqa: E402

SECTION = "## Shadow"
PATH = "/api/items"
NOT_SHADOWED = "Django answers, not shadowed"
SHADOWED = "Django answers, shadow at 100% (child process, the default)"
IN_THREADS = "Django answers, shadow at 100% in the front's threads (PROCESS False)"


def latencies(port: int, count: int) -> list[float]:
    """``count`` sequential GETs of the shadowed route on one keep-alive connection, in ms."""
    return keep_alive_latencies(port, [PATH] * count)


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


def cpu_seconds(pid: int) -> float:
    """CPU time the threads of process ``pid`` have run (schedstat: nanoseconds, not ticks)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just exited
    return total / 1e9


def child_pids(pid: int) -> list[int]:
    """The child processes of ``pid`` (the shadow child is started by a request thread)."""
    found: set[int] = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.update(int(child) for child in children.read_text().split())
        except OSError:
            continue
    return sorted(found)


# Per configuration: CPU seconds of the front's worker process, and of its children.
Cpu = dict[str, tuple[float, float]]


def cpu_of(workers: dict[str, int]) -> Cpu:
    return {
        name: (cpu_seconds(pid), sum(cpu_seconds(child) for child in child_pids(pid)))
        for name, pid in workers.items()
    }


# The two placements of one run. "shared": every process may run on either CPU,
# so Flask's second answer to each request and the shadow child compete with the
# user's path for both. "apart": the user's path (this client, the fronts) on
# CPU 0, what shadow adds (the shadow children, Flask answering the copies) on
# CPU 1, as when Flask runs on hosts of its own and the front host has a spare
# core: what is left is what shadow costs the user's own path.
SHARED = "shared"
APART = "apart"


@dataclass
class Placement:
    """One placement's measurements."""

    samples: dict[str, list[float]]
    # Per shadowed configuration: CPU µs per request of the front process, of its children.
    cpu: Cpu
    load: tuple[float, float]


def measure(
    workdir: Path, requests: int
) -> tuple[dict[str, Placement], tuple[int, int, int], float]:
    """Both placements in one run, the same servers; and Flask's CPU µs per answer."""
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
        child = run.gunicorn("front-shadow", app, {**front, "BENCH_SHADOW": "process"})
        threads = run.gunicorn("front-threads", app, {**front, "BENCH_SHADOW": "threads"})
        configs = {
            "Flask direct (for scale)": flask.port,
            NOT_SHADOWED: plain.port,
            SHADOWED: child.port,
            IN_THREADS: threads.port,
        }
        workers = {
            NOT_SHADOWED: plain.worker_pid(),
            SHADOWED: child.worker_pid(),
            IN_THREADS: threads.worker_pid(),
        }
        for port in configs.values():
            latencies(port, 200)  # warm up: imports, pools, the shadow workers, learned noise
        time.sleep(2)  # the warm-up's shadow work done
        flask_pid = flask.worker_pid()
        before = cpu_seconds(flask_pid)
        latencies(flask.port, 1000)
        flask_cpu = (cpu_seconds(flask_pid) - before) / 1000 * 1e6
        placements = {SHARED: rounds(configs, workers, requests)}
        pin(os.getpid(), {0})
        for pid in workers.values():
            pin(pid, {0})
            for kid in child_pids(pid):
                pin(kid, {1})
        for pid in (flask.process.pid, *child_pids(flask.process.pid)):
            pin(pid, {1})
        time.sleep(2)
        placements[APART] = rounds(configs, workers, requests)
        counts = tallies(database)
    return placements, counts, flask_cpu


def rounds(configs: dict[str, int], workers: dict[str, int], requests: int) -> Placement:
    """``requests`` per configuration, interleaved in 10 rounds so that drift hits all alike."""
    load = os.getloadavg()[0]
    samples: dict[str, list[float]] = {name: [] for name in configs}
    before = cpu_of(workers)
    count = 10
    for _ in range(count):
        for name, port in configs.items():
            samples[name] += latencies(port, requests // count)
    time.sleep(3)  # let the shadow workers finish what is queued and write their counts
    after = cpu_of(workers)
    done = count * (requests // count)
    cpu = {
        name: (
            (after[name][0] - before[name][0]) / done * 1e6,
            (after[name][1] - before[name][1]) / done * 1e6,
        )
        for name in workers
    }
    return Placement(samples, cpu, (load, os.getloadavg()[0]))


def pin(pid: int, cpus: set[int]) -> None:
    """Run every thread of ``pid`` on ``cpus`` only (threads started later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


TITLES = {
    SHARED: "Every process on either CPU",
    APART: "The user's path on CPU 0, what shadow adds on CPU 1",
}


def table(placement: Placement) -> tuple[list[str], float]:
    """One placement's rows, and the p50 growth of the default shadowed front."""
    samples, cpu = placement.samples, placement.cpu
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    base = p50[NOT_SHADOWED]
    lines = [
        "| configuration | p50 ms | p90 ms | p99 ms | p50 vs not shadowed "
        "| front process CPU µs/request | its child processes' CPU µs/request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, values in samples.items():
        ratio = f"{p50[name] / base:.2f}x" if name.startswith("Django") else ""
        front_cpu, child_cpu = (f"{c:.0f}" for c in cpu[name]) if name in cpu else ("", "")
        lines.append(
            f"| {name} | {p50[name]:.3f} | {percentile(values, 0.9):.3f} | "
            f"{percentile(values, 0.99):.3f} | {ratio} | {front_cpu} | {child_cpu} |"
        )
    return lines, p50[SHADOWED] / base - 1


def verdict(growth: float) -> str:
    met = "meets" if growth < 0.05 else "misses"
    return f"{growth * 100:+.1f}%: it {met} the target (under +5%)"


def report(
    placements: dict[str, Placement],
    counts: tuple[int, int, int],
    requests: int,
    flask_cpu: float,
) -> str:
    compared, differing, dropped = counts
    loads = [load for placement in placements.values() for load in placement.load]
    lines = [
        SECTION,
        "",
        "Measured by `benchmarks/shadow.py` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} (load average {min(loads):.1f} to "
        f"{max(loads):.1f}; figures move between runs, so compare the rows of one run). "
        "Every server on 127.0.0.1; gunicorn with one gthread worker (4 threads) for each "
        "Django front and for Flask. The shadowed fronts are the same but for "
        '`SHADOW["PROCESS"]`: by default the shadow work (2 worker threads) runs in a child '
        "process of the front's worker process (nice +10); with `PROCESS: False` it runs in "
        "threads inside the worker process.",
        "",
        f"`GET {PATH}` (a 1.5 KiB JSON answer), one keep-alive client, {requests} requests "
        "per row, interleaved in 10 rounds, first with every process free to run on either "
        "CPU, then, with the same servers, with the user's path (this client and the fronts' "
        "worker processes) on CPU 0 and what shadow adds (the shadow child processes and "
        "Flask, which answers the copies) on CPU 1. One Flask answer costs "
        f"{flask_cpu:.0f} µs of Flask's CPU (1000 direct requests before the rounds).",
        "",
    ]
    growths = {}
    for name, placement in placements.items():
        rows, growths[name] = table(placement)
        lines += [f"{TITLES[name]}:", "", *rows, ""]
    shared = placements[SHARED]
    p50 = {name: statistics.median(values) * 1000 for name, values in shared.samples.items()}
    front = shared.cpu[NOT_SHADOWED][0]
    added = shared.cpu[SHADOWED][0] - front
    child = shared.cpu[SHADOWED][1]
    threads_growth = p50[IN_THREADS] / p50[NOT_SHADOWED] - 1
    wanted = (front + added + child + flask_cpu) / p50[SHADOWED]
    lines += [
        f"The shadow workers of both shadowed fronts compared {compared} requests ({differing} "
        f"differed, {dropped} dropped because a queue or the socket to the child was full) "
        "during the run, warm-up included: the replay to Flask really happened.",
        "",
        "Against the target (the user's p50 grows by under 5% at 100% sampling), with the "
        f"child process: {verdict(growths[APART])} with the user's path on a CPU of its own, "
        f"and {verdict(growths[SHARED])} with every process on either CPU. With the shadow "
        f"work in the front's own threads, the p50 grew by {threads_growth * 100:+.1f}% with "
        "every process on either CPU.",
        "",
        "Why the two placements differ: with every process on either CPU, each shadowed "
        f"request asks for the front's {front:.0f} µs, the hand-over's {added:+.0f} µs, the "
        f"child's {child:.0f} µs and Flask's second answer ({flask_cpu:.0f} µs), besides "
        f"the client's own, every {p50[SHADOWED]:.0f} µs (the shadowed p50): {wanted:.2f} "
        "CPUs of the two without the client. The copy's work then waits for a CPU "
        "behind the user's requests or they behind it, whatever its priority: Flask "
        "answers the copies at the same priority as any request. In production Flask runs "
        "on hosts of its own, and the second placement measures what is left for the "
        "user's path there: the hand-over at the response's close, in the front process.",
        "",
        "The CPU columns are CPU time per request of the front's gunicorn worker process "
        "and of its child processes (the shadow child), from /proc over each placement's "
        "rounds: they move less with the machine's load than latencies do. In thread mode "
        "the shadow work is in the first column.",
        "",
        "What the front pays per shadowed request, in the request's thread after Django's "
        "answer was sent (when the server closes the response): a copy of the answer, of "
        "the environ's strings and of who the request ran as (read only when something "
        "could name a user: a cookie, or a view that read it). Jobs go to the child in "
        "batches, one pickle call and one non-blocking send on a Unix socket per 5 ms, and "
        "the child reads them in batches too. The child has its own GIL and runs at nice "
        "+10. Answers that agree as parsed JSON (numbers compared by their spelling) skip "
        "the field-by-field comparison, and counts are written once a second, not per job.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per configuration")
    parser.add_argument("--write", type=Path, help="replace the Shadow section of this file")
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        parser.error("needs 2 CPUs or more: the second placement gives shadow's work a CPU")
    with tempfile.TemporaryDirectory(prefix="strangler-bench-shadow-") as tmp:
        placements, counts, flask_cpu = measure(Path(tmp), args.requests)
    section = report(placements, counts, args.requests, flask_cpu)
    print(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
