"""Forwarding benchmark: Flask direct and the fronts that can stand before it, side by side.

One run starts, on 127.0.0.1 only:

* Flask direct: ``benchmarks.flask_app`` under gunicorn;
* django-strangler over HTTP: ``benchmarks.django_project`` (startproject's
  middleware, StranglerMiddleware first) under gunicorn, forwarding to that Flask;
* django-strangler in-process: the same project with ``UPSTREAM="wsgi:..."``;
* django-strangler under ASGI: the same project under uvicorn (one process),
  ``strangler.asgi.get_asgi_application()``, over HTTP and in-process;
* django-revproxy 0.13: the same kind of project with a catch-all ``ProxyView``;
* nginx ``proxy_pass`` to the same Flask, when nginx is installed.

and measures, for each: p50/p99 latency of a small page at 1 connection,
throughput at 16 connections (wrk when installed, else a Python client), and a
large streamed body both ways (time, and peak RSS growth of the front's worker
from ``/proc/PID/clear_refs`` + ``VmHWM``), and the delay of server-sent events
(``benchmarks/sse.py``). It also measures the HTTP clients
(``benchmarks/clients.py``) and, with ``--write``, draws the latency and
throughput of every front into ``forwarding.png`` beside the Markdown file.
Every server is stopped at the end, errors included.

    python benchmarks/forwarding.py [--quick] [--size BYTES] [--write docs/benchmarks.md]

Some fronts and measures only (prints the figures, writes no Markdown), e.g.
the large bodies of the fronts the ASGI streaming target compares:

    python benchmarks/forwarding.py --measures bodies \\
        --fronts strangler_asgi_http,nginx,strangler_http
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import clients
from benchmarks.flask_app import PAGE
from benchmarks.plot import PlotRow, draw
from benchmarks.servers import (
    KEEP_ALIVE,
    ROOT,
    THREADS,
    WORKER_CLASS,
    WORKERS,
    Server,
    Servers,
)
from benchmarks.sse import SseResult, measure_sse

SECTION = "## Forwarding"
DOC_INTRO = """\
# Benchmarks

Measurements of django-strangler against the alternatives, each section written
by the benchmark named in it. Numbers are from one machine and one run: compare
the rows of a table with each other, not with another machine's.
"""

WRK_SCRIPT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, '
    .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass
class Front:
    key: str
    label: str
    server: Server | None = None
    skipped: str = ""  # why the front is not in this run


@dataclass
class Load:
    connections: int
    requests: int
    seconds: float
    errors: int
    non2xx: int
    p50_us: float
    p99_us: float
    rps: float = 0.0
    rounds: list[float] = field(default_factory=list)  # req/s of each round
    # CPU time (user + system) per request of the front's worker and of Flask's
    # worker, while the load ran; less sensitive to other work on the machine
    # than req/s.
    front_cpu_us: float | None = None
    flask_cpu_us: float | None = None

    def __post_init__(self) -> None:
        if not self.rps and self.seconds:
            self.rps = self.requests / self.seconds


def median_load(runs: list[Load]) -> Load:
    """One figure per measure across rounds: the median p50, p99 and req/s; errors summed."""
    return Load(
        connections=runs[0].connections,
        requests=sum(run.requests for run in runs),
        seconds=sum(run.seconds for run in runs),
        errors=sum(run.errors for run in runs),
        non2xx=sum(run.non2xx for run in runs),
        p50_us=statistics.median(run.p50_us for run in runs),
        p99_us=statistics.median(run.p99_us for run in runs),
        rps=statistics.median(run.rps for run in runs),
        rounds=[run.rps for run in runs],
        front_cpu_us=_median_or_none([run.front_cpu_us for run in runs]),
        flask_cpu_us=_median_or_none([run.flask_cpu_us for run in runs]),
    )


def _median_or_none(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Transfer:
    bytes_expected: int
    bytes_done: int = 0
    seconds: float = 0.0
    rss_growth: int | None = None  # bytes, peak during the transfer minus before it
    error: str = ""
    rounds: list[float] = field(default_factory=list)  # seconds of each round

    @property
    def ok(self) -> bool:
        return not self.error and self.bytes_done == self.bytes_expected

    @property
    def mb_s(self) -> float:
        return self.bytes_done / self.seconds / 1e6 if self.seconds and self.ok else 0.0


def median_transfer(runs: list[Transfer]) -> Transfer:
    """The median time across rounds and the largest RSS growth; the first failure wins."""
    failed = [run for run in runs if not run.ok]
    if failed:
        return failed[0]
    growths = [run.rss_growth for run in runs if run.rss_growth is not None]
    return Transfer(
        bytes_expected=runs[0].bytes_expected,
        bytes_done=runs[0].bytes_done,
        seconds=statistics.median(run.seconds for run in runs),
        rss_growth=max(growths) if growths else None,
        rounds=[run.seconds for run in runs],
    )


@dataclass
class FrontResult:
    latency: Load | None = None
    throughput: Load | None = None
    download: Transfer | None = None
    upload: Transfer | None = None
    html: Transfer | None = None
    upload_length: Transfer | None = None
    sse: SseResult | None = None
    failure: str = ""


@dataclass
class Settings:
    duration: float
    rounds: int
    size: int
    html_size: int
    client_requests: int
    client_stream_size: int
    load_generator: str
    quick: bool
    plot: str = ""  # the PNG's path relative to the Markdown file, when one is drawn


@dataclass
class Run:
    settings: Settings
    fronts: list[Front]
    results: dict[str, FrontResult] = field(default_factory=dict)
    client_results: list[clients.ClientResult] = field(default_factory=list)
    machine: dict[str, str] = field(default_factory=dict)


# --- load generation ---------------------------------------------------------------------


def wrk_load(url: str, connections: int, duration: float, script: Path) -> Load:
    # One wrk thread: on a small machine the second core is worth more to the
    # servers than to the load generator.
    threads = 1
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    match = re.search(r"^\{.*\}$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    data = json.loads(match.group(0))
    return Load(
        connections=connections,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        non2xx=data["non2xx"],
        p50_us=float(data["p50_us"]),
        p99_us=float(data["p99_us"]),
    )


def python_load(url: str, connections: int, duration: float) -> Load:
    """Keep-alive GETs from ``connections`` threads for ``duration`` seconds.

    A fallback for machines without wrk: the client shares one GIL, so its
    throughput figures are a floor, not a measurement of the server alone.
    """
    target = "/" + url.split("/", 3)[3]
    host_port = url.split("/")[2]
    host, _, port = host_port.partition(":")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    non2xx = [0] * connections
    deadline = time.monotonic() + duration

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    conn.request("GET", target)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    failures[index] += 1
                    conn.close()
                    continue
                latencies[index].append(time.perf_counter() - start)
                if not 200 <= response.status < 300:
                    non2xx[index] += 1
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 30)
    elapsed = time.perf_counter() - started
    merged = sorted(x for per_thread in latencies for x in per_thread)
    if not merged:
        raise RuntimeError(f"no request to {url} succeeded")
    return Load(
        connections=connections,
        requests=len(merged),
        seconds=elapsed,
        errors=sum(failures),
        non2xx=sum(non2xx),
        p50_us=merged[len(merged) // 2] * 1e6,
        p99_us=merged[min(len(merged) - 1, int(len(merged) * 0.99))] * 1e6,
    )


# --- memory of the front's worker --------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class PeakRss:
    """Peak resident memory of ``pid`` during a ``with`` block, minus what it had before.

    Resets the kernel's high-water mark (``echo 5 > /proc/PID/clear_refs``) and
    reads ``VmHWM`` afterwards; also samples ``VmRSS`` every 5 ms, which is all
    there is when ``clear_refs`` cannot be written (not our process).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = 0
        self.peak = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._hwm_reset = False

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            try:
                self.peak = max(self.peak, _status_kb(self.pid, "VmRSS") * 1024)
            except (OSError, KeyError):
                return

    def __enter__(self) -> PeakRss:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self.before = _status_kb(self.pid, "VmRSS") * 1024
        self.peak = self.before
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join(timeout=1)
        if self._hwm_reset:
            self.peak = max(self.peak, _status_kb(self.pid, "VmHWM") * 1024)

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.before)


# --- large bodies ------------------------------------------------------------------------

READ_SIZE = 1024 * 1024
# 64 KiB pieces, like curl's upload buffer. With larger pieces, gunicorn's
# chunked-body reader (27.0) copies the unread rest of each received piece on
# every read(), and upload speed then varies 2-4x between identical runs.
UPLOAD_PIECE = b"u" * (64 * 1024)


def _connection(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)


def download(server: Server, worker: int, size: int, content_type: str) -> Transfer:
    result = Transfer(bytes_expected=size)
    conn = _connection(server)
    try:
        with PeakRss(worker) as rss:
            start = time.perf_counter()
            conn.request("GET", f"/stream?size={size}&type={content_type}")
            response = conn.getresponse()
            if response.status != 200:
                result.error = f"HTTP {response.status}"
            while chunk := response.read1(READ_SIZE):
                result.bytes_done += len(chunk)
            result.seconds = time.perf_counter() - start
        result.rss_growth = rss.growth
    except (OSError, http.client.HTTPException) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        conn.close()
    if not result.error and result.bytes_done != size:
        result.error = f"received {result.bytes_done} of {size} bytes"
    return result


def upload(server: Server, worker: int, size: int, *, chunked: bool = True) -> Transfer:
    """POST ``size`` bytes (chunked, or with a Content-Length); Flask says how many arrived.

    A front that answers before reading the body and closes the connection
    breaks the client's send; its answer is still read, to say what it did.
    """
    result = Transfer(bytes_expected=size)

    def body() -> Iterator[bytes]:
        remaining = size
        while remaining > 0:
            piece = UPLOAD_PIECE if remaining >= len(UPLOAD_PIECE) else UPLOAD_PIECE[:remaining]
            remaining -= len(piece)
            yield piece

    headers = {"Content-Type": "application/octet-stream"}
    if not chunked:
        headers["Content-Length"] = str(size)
    conn = _connection(server)
    send_error = ""
    try:
        with PeakRss(worker) as rss:
            start = time.perf_counter()
            try:
                conn.request(
                    "POST", "/upload", body=body(), headers=headers, encode_chunked=chunked
                )
            except (BrokenPipeError, ConnectionResetError) as error:
                send_error = f"closed the connection mid-upload ({type(error).__name__})"
            response = conn.getresponse()
            payload = response.read()
            result.seconds = time.perf_counter() - start
        result.rss_growth = rss.growth
        if response.status != 200:
            result.error = f"answered HTTP {response.status}"
        else:
            result.bytes_done = int(json.loads(payload)["received"])
            if result.bytes_done != size:
                result.error = (
                    f"answered 200, but Flask received {size_label(result.bytes_done)} "
                    f"of {size_label(size)}"
                )
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        result.error = f"{type(error).__name__}: {error}"
    finally:
        conn.close()
    if send_error:
        result.error = f"{result.error}; {send_error}" if result.error else send_error
    return result


# --- the run ----------------------------------------------------------------------------


def fast_path_available() -> bool:
    """Does this django-strangler have the WSGI fast path (``strangler.wsgi``)?"""
    try:
        return importlib.util.find_spec("strangler.wsgi") is not None
    except ImportError:
        return False


def asgi_available() -> bool:
    """Does this django-strangler have the ASGI entry, and is uvicorn installed?"""
    try:
        return all(
            importlib.util.find_spec(name) is not None
            for name in ("strangler.asgi", "uvicorn", "aiohttp")
        )
    except ImportError:
        return False


# What docs/asgi.md recommends for an ASGI front that streams large uploads.
GLIBC_MALLOC_TUNABLES = "glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=1048576"

FRONT_KEYS = (
    "strangler_http",
    "strangler_wsgi",
    "strangler_http_mw",
    "strangler_wsgi_mw",
    "strangler_asgi_http",
    "strangler_asgi_wsgi",
    "strangler_asgi_http_malloc",
    "revproxy",
    "nginx",
)
MEASURES = ("load", "bodies", "events", "clients")


def start_fronts(servers: Servers, flask: Server, wanted: set[str] | None = None) -> list[Front]:
    """Start every front (or the ``wanted`` keys of FRONT_KEYS); Flask direct is always first."""
    fronts = [Front("direct", "Flask direct (gunicorn)", flask)]

    def want(key: str) -> bool:
        return wanted is None or key in wanted

    project = "benchmarks.django_project.wsgi:application"
    settings_env = {"DJANGO_SETTINGS_MODULE": "benchmarks.django_project.settings"}
    transports = [
        ("http", "HTTP", flask.url),
        ("wsgi", "in-process", "wsgi:benchmarks.flask_app:app"),
    ]
    # With the fast path, the main rows use it (the recommended wsgi.py) and
    # the middleware-only rows show what it saves.
    handlers = [("strangler", "")] if fast_path_available() else []
    handlers.append(("django", ", middleware only" if handlers else ""))
    for handler, suffix in handlers:
        for key, name, upstream in transports:
            tag = "_mw" if suffix else ""
            if not want(f"strangler_{key}{tag}"):
                continue
            fronts.append(
                Front(
                    f"strangler_{key}{tag}",
                    f"django-strangler, {name}{suffix}",
                    servers.gunicorn(
                        f"strangler-{key}{tag}",
                        project,
                        {
                            **settings_env,
                            "BENCH_FRONT": "strangler",
                            "BENCH_HANDLER": handler,
                            "BENCH_UPSTREAM": upstream,
                        },
                    ),
                )
            )
    if asgi_available():
        # The same project and settings under uvicorn (one process, uvloop,
        # httptools), served by strangler.asgi.get_asgi_application().
        for key, name, upstream in transports:
            if not want(f"strangler_asgi_{key}"):
                continue
            fronts.append(
                Front(
                    f"strangler_asgi_{key}",
                    f"django-strangler, {name}, ASGI (uvicorn)",
                    servers.uvicorn(
                        f"strangler-asgi-{key}",
                        "benchmarks.django_project.asgi:application",
                        {**settings_env, "BENCH_FRONT": "strangler", "BENCH_UPSTREAM": upstream},
                    ),
                )
            )
        if want("strangler_asgi_http_malloc"):
            # The same front with glibc's malloc thresholds raised (docs/asgi.md): uvloop
            # and httptools allocate and free a 256 KiB buffer per read, and with the
            # default, adaptive thresholds glibc may give that memory back to the kernel
            # and fault it in again on every read, doubling the front's CPU per upload.
            fronts.append(
                Front(
                    "strangler_asgi_http_malloc",
                    "django-strangler, HTTP, ASGI (uvicorn), malloc thresholds raised",
                    servers.uvicorn(
                        "strangler-asgi-http-malloc",
                        "benchmarks.django_project.asgi:application",
                        {
                            **settings_env,
                            "BENCH_FRONT": "strangler",
                            "BENCH_UPSTREAM": flask.url,
                            "GLIBC_TUNABLES": GLIBC_MALLOC_TUNABLES,
                        },
                    ),
                )
            )
    if want("revproxy"):
        fronts.append(
            Front(
                "revproxy",
                "django-revproxy 0.13",
                servers.gunicorn(
                    "revproxy",
                    project,
                    {**settings_env, "BENCH_FRONT": "revproxy", "BENCH_UPSTREAM": flask.url},
                ),
            )
        )
    if not want("nginx"):
        return fronts
    try:
        nginx = servers.nginx("nginx", flask)
        skipped = "" if nginx else "nginx is not installed"
    except RuntimeError as error:  # installed but would not start: say so, run the rest
        nginx, skipped = None, f"nginx did not start: {str(error).splitlines()[-1]}"
    fronts.append(Front("nginx", "nginx proxy_pass", nginx, skipped))
    return fronts


def check_front(front: Front) -> None:
    """Fail early when a front does not pass the page through byte for byte."""
    assert front.server is not None
    conn = http.client.HTTPConnection("127.0.0.1", front.server.port, timeout=10)
    try:
        conn.request("GET", "/hello")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or body != PAGE:
        raise RuntimeError(f"{front.label}: GET /hello answered {response.status}, {body[:80]!r}")


def check_fronts(run: Run) -> None:
    """A result for every running front; a front that mangles the page is marked failed."""
    for front in run.fronts:
        if front.server is None:
            continue
        result = run.results.setdefault(front.key, FrontResult())
        try:
            check_front(front)
        except (RuntimeError, OSError) as error:
            result.failure = str(error)
            log(f"{front.label}: {result.failure}")


def measure_load(run: Run, workdir: Path) -> None:
    settings = run.settings
    script = workdir / "report.lua"
    script.write_text(WRK_SCRIPT)

    def load(url: str, connections: int, duration: float) -> Load:
        if settings.load_generator == "wrk":
            return wrk_load(url, connections, duration, script)
        return python_load(url, connections, duration)

    latency: dict[str, list[Load]] = {}
    throughput: dict[str, list[Load]] = {}
    live = [front for front in run.fronts if front.server is not None]
    for front in live:
        assert front.server is not None
        result = run.results[front.key]
        if result.failure:
            continue
        try:
            load(front.server.url + "/hello", 16, max(1.0, settings.duration / 2))  # warm-up
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            result.failure = str(error)
            log(f"{front.label}: {result.failure}")
    flask = run.fronts[0].server
    assert flask is not None

    def load_with_cpu(url: str, server: Server, flask: Server, duration: float) -> Load:
        pids = {server.worker_pid(), flask.worker_pid()}
        before = {pid: cpu_seconds(pid) for pid in pids}
        result = load(url, 16, duration)
        used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
        if result.requests:
            result.front_cpu_us = used[server.worker_pid()] / result.requests * 1e6
            if server is not flask:
                result.flask_cpu_us = used[flask.worker_pid()] / result.requests * 1e6
        return result

    # Rounds interleave the fronts, so that a slow spell of the machine is
    # shared out instead of landing on one front.
    for round_number in range(1, settings.rounds + 1):
        for front in live:
            assert front.server is not None
            result = run.results[front.key]
            if result.failure:
                continue
            url = front.server.url + "/hello"
            try:
                latency.setdefault(front.key, []).append(load(url, 1, settings.duration))
                throughput.setdefault(front.key, []).append(
                    load_with_cpu(url, front.server, flask, settings.duration)
                )
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                result.failure = str(error)
            result.latency = median_load(latency[front.key]) if front.key in latency else None
            result.throughput = (
                median_load(throughput[front.key]) if front.key in throughput else None
            )
            log(f"round {round_number}, {front.label}: {summary(result)}")


def measure_bodies(run: Run) -> None:
    settings = run.settings
    live = [front for front in run.fronts if front.server is not None]
    workers: dict[str, int] = {}
    downloads: dict[str, list[Transfer]] = {}
    uploads: dict[str, list[Transfer]] = {}
    for front in live:
        assert front.server is not None
        if run.results[front.key].failure:
            continue
        worker = workers[front.key] = front.server.worker_pid()
        # Small transfers of each kind first, a few times so that every worker
        # thread has run one: imports and per-thread malloc arenas of the first
        # requests are not growth caused by the body.
        for _ in range(2 * THREADS):
            download(front.server, worker, 4 * 2**20, "application/octet-stream")
            download(front.server, worker, 2**20, "text/html")
            upload(front.server, worker, 4 * 2**20)
            upload(front.server, worker, 2**20, chunked=False)
    for round_number in range(1, settings.rounds + 1):
        for front in live:
            assert front.server is not None
            if front.key not in workers:
                continue
            worker = workers[front.key]
            down = download(front.server, worker, settings.size, "application/octet-stream")
            downloads.setdefault(front.key, []).append(down)
            log(f"round {round_number}, {front.label}: download {describe(down)}")
            up = upload(front.server, worker, settings.size)
            uploads.setdefault(front.key, []).append(up)
            log(f"round {round_number}, {front.label}: upload {describe(up)}")
    for front in live:
        assert front.server is not None
        if front.key not in workers:
            continue
        result = run.results[front.key]
        worker = workers[front.key]
        result.download = median_transfer(downloads[front.key])
        result.upload = median_transfer(uploads[front.key])
        result.html = download(front.server, worker, settings.html_size, "text/html")
        log(f"{front.label}: html download {describe(result.html)}")
        result.upload_length = upload(front.server, worker, settings.html_size, chunked=False)
        log(f"{front.label}: Content-Length upload {describe(result.upload_length)}")


def measure_events(run: Run) -> None:
    """Server-sent events through every front, the fronts taking turns in each round."""
    samples: dict[str, list[SseResult]] = {}
    for round_number in range(1, run.settings.rounds + 1):
        for front in run.fronts:
            result = run.results.get(front.key)
            if front.server is None or result is None or result.failure:
                continue
            try:
                sse = measure_sse(front.server.port)
            except (RuntimeError, OSError) as error:
                log(f"{front.label}: server-sent events failed: {error}")
                continue
            samples.setdefault(front.key, []).append(sse)
            log(
                f"round {round_number}, {front.label}: SSE delay p50 {sse.p50_us:.0f} µs, "
                f"p99 {sse.p99_us:.0f} µs"
            )
    for key, rounds in samples.items():
        delays = sorted(delay for sse in rounds for delay in sse.delays_us)
        run.results[key].sse = SseResult(
            events=len(delays),
            p50_us=statistics.median(delays),
            p99_us=delays[min(len(delays) - 1, int(len(delays) * 0.99))],
            max_us=delays[-1],
        )


def plot(run: Run, path: Path) -> None:
    """Draw p50/p99 latency and throughput of every front that ran into ``path`` (PNG)."""
    rows = [
        PlotRow(front.label, result.latency.p50_us, result.latency.p99_us, result.throughput.rps)
        for front in run.fronts
        if (result := run.results.get(front.key)) is not None
        and not result.failure
        and result.latency is not None
        and result.throughput is not None
    ]
    draw(
        rows,
        path,
        f"GET /hello (1.2 KiB) on 127.0.0.1, one busy {os.cpu_count()}-CPU machine, "
        f"{datetime.now(UTC):%Y-%m-%d}: compare the rows, not with other machines",
    )


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def summary(result: FrontResult) -> str:
    if result.failure:
        return f"FAILED: {result.failure}"
    lat, thr = result.latency, result.throughput
    assert lat is not None
    assert thr is not None
    return (
        f"p50 {lat.p50_us:.0f} µs, p99 {lat.p99_us:.0f} µs @1; {thr.rps:.0f} req/s @16 "
        f"(errors {lat.errors + thr.errors}, non-2xx {lat.non2xx + thr.non2xx})"
    )


def describe(transfer: Transfer) -> str:
    growth = "?" if transfer.rss_growth is None else mib(transfer.rss_growth)
    if transfer.ok:
        return f"{transfer.seconds:.2f} s, {transfer.mb_s:.0f} MB/s, RSS +{growth}"
    return f"{transfer.error} after {transfer.seconds:.2f} s, RSS +{growth}"


def mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def size_label(value: int) -> str:
    if value >= 2**30 and value % 2**30 == 0:
        return f"{value // 2**30} GiB"
    if value >= 2**20:
        return f"{value / 2**20:.0f} MiB"
    return f"{value} B"


def machine_facts(load_generator: str) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    def tool_version(argv: list[str]) -> str:
        if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
            return "not installed"
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "not installed"
        text = (done.stdout + done.stderr).strip().splitlines()
        return text[0] if text else "unknown"

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    revision = _git("rev-parse", "--short", "HEAD") or "unknown revision"
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "revision": revision + (" plus uncommitted changes in src/" if dirty else ""),
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": f"{mem_kb / 2**20:.0f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load before run": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "versions": ", ".join(
            f"{name} {version(name)}"
            for name in ("Django", "Flask", "gunicorn", "urllib3", "django-revproxy", "httpx")
        ),
        "nginx": tool_version([nginx, "-v"]).replace("nginx version: ", ""),
        "load generator": (
            tool_version(["wrk", "-v"]).split(" [")[0]
            if load_generator == "wrk"
            else "Python threads + http.client (wrk not installed)"
        ),
    }


def wait_for_quiet_machine(patience: float, threshold: float = 1.0) -> None:
    """Wait up to ``patience`` seconds for the 1-minute load average to drop below ``threshold``.

    Other work on the machine (a test suite) takes CPU from whichever front is
    being measured at the time; the report shows the load before and after.
    """
    deadline = time.monotonic() + patience
    while True:
        load = float(Path("/proc/loadavg").read_text().split()[0])
        if load < threshold or time.monotonic() >= deadline:
            if load >= threshold:
                log(f"load average still {load:.2f} after {patience:.0f} s; measuring anyway")
            return
        log(f"load average {load:.2f}: waiting for the machine to quieten")
        time.sleep(10)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


# --- the report -------------------------------------------------------------------------


def ratio(value: float | None, reference: float | None) -> str:
    if not value or not reference:
        return "-"
    return f"{value / reference:.2f}x"


def render(run: Run) -> str:
    settings = run.settings
    direct = run.results.get("direct", FrontResult())
    lines = [
        SECTION,
        "",
        f"Written by `benchmarks/forwarding.py`{' --quick' if settings.quick else ''} "
        f"on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (`make bench`). "
        "Everything runs on 127.0.0.1 on one machine; the figures are ratios within one run.",
        "",
        "Setup:",
        f"- Flask: `benchmarks/flask_app.py` under gunicorn. Every gunicorn (Flask's and every "
        f"Django front's) runs {WORKERS} worker, `--worker-class {WORKER_CLASS} --threads "
        f"{THREADS} --keep-alive {KEEP_ALIVE}`; nginx runs 1 worker process, HTTP/1.1 keep-alive "
        "to Flask, `proxy_buffering off`, `proxy_request_buffering off`, 64 KiB buffers.",
        "- Django fronts: `benchmarks/django_project/`, the settings and middleware of a new "
        "`startproject` (DEBUG off). django-strangler: `StranglerMiddleware` first, "
        "`UPSTREAM` the Flask URL (HTTP) or `wsgi:benchmarks.flask_app:app` (in-process, Flask "
        "runs inside the Django worker)"
        + (
            ", served by `strangler.wsgi.get_wsgi_application()` (the WSGI fast path); the "
            "rows marked *middleware only* use Django's own handler. "
            if any(front.key.endswith("_mw") for front in run.fronts)
            else ". "
        )
        + (
            "The *ASGI (uvicorn)* rows serve the same project and settings with "
            "`strangler.asgi.get_asgi_application()` under uvicorn: one process, uvloop, "
            "httptools, no access log. "
            if any(front.key.startswith("strangler_asgi") for front in run.fronts)
            else ""
        )
        + "django-revproxy: `ProxyView` as a catch-all URL.",
        f"- Small page: `GET /hello`, a 1.2 KiB `text/html` page. Latency: 1 connection for "
        f"{settings.duration:.0f} s; throughput: 16 connections for {settings.duration:.0f} s; "
        f"after a warm-up at 16 connections. {settings.rounds} round(s), the fronts taking "
        "turns within each round; the tables show the median of the rounds (req/s of each "
        f"round in brackets). Load generator: {run.machine['load generator']}"
        + (" (one wrk thread)." if settings.load_generator == "wrk" else "."),
        f"- Large bodies: a {size_label(settings.size)} `application/octet-stream` download "
        "(Flask yields 64 KiB pieces, chunked) and upload (`Transfer-Encoding: chunked`, "
        "64 KiB pieces, because with 256 KiB pieces gunicorn's chunked-body reader makes "
        "upload speed vary 2-4x between identical runs; Flask reads the body and reports how "
        "many bytes arrived), then a "
        f"{size_label(settings.html_size)} `text/html` download and upload with a "
        "`Content-Length`, once each after the rounds. Large bodies go through the same rounds: "
        "median time, largest RSS growth. Client: Python `http.client` "
        "reading 1 MiB at a time. RSS growth: peak resident memory of the front's worker "
        "process during the transfer (`/proc/PID/clear_refs` ← 5, then `VmHWM`, plus "
        "5 ms sampling of `VmRSS`) minus its RSS just before; for Flask direct that is "
        "Flask's own worker.",
        f"- Machine: {run.machine['cpu']}, {run.machine['memory']} RAM, {run.machine['os']}, "
        f"Python {run.machine['python']}; load average before the run "
        f"{run.machine['load before run']}. {run.machine['versions']}; nginx "
        f"{run.machine['nginx']}; load average after {run.machine.get('load after run', '?')}. "
        "The load generator, the front and Flask share the CPUs. "
        f"django-strangler at {run.machine['revision']}; identity tokens off (no "
        "`SIGNING_KEY`).",
        "",
        "### Small page",
        "",
        "| front | p50 @1 conn | p99 @1 conn | p50 added to direct | p50 vs direct "
        "| req/s @16 conn | req/s vs direct | front worker CPU per request | Flask worker CPU "
        "per request | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    direct_lat = direct.latency.p50_us if direct.latency else None
    direct_rps = direct.throughput.rps if direct.throughput else None
    for front in run.fronts:
        result = run.results.get(front.key)
        if front.server is None or result is None:
            lines.append(f"| {front.label} | skipped: {front.skipped} |")
            continue
        if result.failure or result.latency is None or result.throughput is None:
            lines.append(f"| {front.label} | failed: {result.failure} |")
            continue
        lat, thr = result.latency, result.throughput
        added = (
            f"+{lat.p50_us - direct_lat:.0f} µs" if direct_lat and front.key != "direct" else "-"
        )
        errors = lat.errors + thr.errors + lat.non2xx + thr.non2xx
        lines.append(
            f"| {front.label} | {lat.p50_us:.0f} µs | {lat.p99_us:.0f} µs | {added} "
            f"| {ratio(lat.p50_us, direct_lat)} | {thr.rps:,.0f}{spread(thr.rounds)} "
            f"| {ratio(thr.rps, direct_rps)} | {us(thr.front_cpu_us)} | {us(thr.flask_cpu_us)} "
            f"| {errors} |"
        )
    lines += [
        "",
        f"### Large streamed bodies ({size_label(settings.size)})",
        "",
        "| front | download | vs direct | worker RSS growth | upload (chunked) | vs direct "
        "| worker RSS growth |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    direct_down = direct.download.mb_s if direct.download else None
    direct_up = direct.upload.mb_s if direct.upload else None
    for front in run.fronts:
        result = run.results.get(front.key)
        if front.server is None or result is None:
            lines.append(f"| {front.label} | skipped: {front.skipped} |")
            continue
        if result.download is None or result.upload is None:
            lines.append(f"| {front.label} | failed: {result.failure} |")
            continue
        lines.append(
            f"| {front.label} | {transfer_cell(result.download)} "
            f"| {ratio(result.download.mb_s, direct_down)} | {rss_cell(result.download)} "
            f"| {transfer_cell(result.upload)} | {ratio(result.upload.mb_s, direct_up)} "
            f"| {rss_cell(result.upload)} |"
        )
    html = size_label(settings.html_size)
    lines += [
        "",
        f"### Does the front buffer? ({html})",
        "",
        f"A {html} `text/html` download, and a {html} upload with a `Content-Length` "
        "(not chunked).",
        "",
        f"| front | {html} text/html download | worker RSS growth "
        f"| {html} upload with Content-Length | worker RSS growth |",
        "|---|---:|---:|---:|---:|",
    ]
    for front in run.fronts:
        result = run.results.get(front.key)
        if front.server is None or result is None:
            lines.append(f"| {front.label} | skipped: {front.skipped} |")
            continue
        if result.html is None or result.upload_length is None:
            lines.append(f"| {front.label} | failed: {result.failure} |")
            continue
        lines.append(
            f"| {front.label} | {transfer_cell(result.html)} | {rss_cell(result.html)} "
            f"| {transfer_cell(result.upload_length)} | {rss_cell(result.upload_length)} |"
        )
    if any(result.sse for result in run.results.values()):
        direct_sse = direct.sse.p50_us if direct.sse else None
        lines += [
            "",
            "### Server-sent events",
            "",
            "The time from Flask's `yield` of an event to the client's read of it "
            "(`benchmarks/sse.py`: 200 events 5 ms apart per round, each stamped with "
            "`time.monotonic_ns()` by Flask and by the client; all rounds pooled).",
            "",
            "| front | p50 | p99 | max | p50 added to direct |",
            "|---|---:|---:|---:|---:|",
        ]
        for front in run.fronts:
            result = run.results.get(front.key)
            if result is None or result.sse is None:
                continue
            sse = result.sse
            added = (
                f"{sse.p50_us - direct_sse:+.0f} µs"
                if direct_sse is not None and front.key != "direct"
                else "-"
            )
            lines.append(
                f"| {front.label} | {sse.p50_us:.0f} µs | {sse.p99_us:.0f} µs "
                f"| {sse.max_us:.0f} µs | {added} |"
            )
    if settings.plot:
        lines += ["", f"![p50/p99 latency and throughput of every front]({settings.plot})"]
    lines += ["", "### Reading the numbers", ""]
    lines += [f"- {line}" for line in observations(run)]
    lines += ["", "### Targets (issue 2)", ""]
    lines += [f"- {line}" for line in targets(run)]
    asgi = asgi_targets(run)
    if asgi:
        lines += ["", "### Targets (issue 12, ASGI)", ""]
        lines += [f"- {line}" for line in asgi]
    if run.client_results:
        lines += [
            "",
            "### HTTP client for the transport",
            "",
            "What each candidate client costs the process it runs in (`benchmarks/clients.py`, "
            "same run, against the Flask server above):",
            "",
            clients.markdown_table(
                run.client_results, settings.client_requests, settings.client_stream_size
            ),
            "",
            clients.conclusion(run.client_results),
        ]
    return "\n".join(lines) + "\n"


def render_partial(run: Run) -> str:
    """A run of some fronts or measures (--fronts, --measures): its figures and ASGI targets."""
    lines = [
        f"Partial run of `benchmarks/forwarding.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{run.settings.rounds} round(s); load average before {run.machine['load before run']}, "
        f"after {run.machine.get('load after run', '?')}.",
        "",
        "| front | p50 @1 conn | req/s @16 conn | download | RSS growth | upload (chunked) "
        "| RSS growth | SSE p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for front in run.fronts:
        result = run.results.get(front.key)
        if front.server is None or result is None:
            lines.append(f"| {front.label} | skipped: {front.skipped} |")
            continue
        if result.failure:
            lines.append(f"| {front.label} | failed: {result.failure} |")
            continue
        lat, thr = result.latency, result.throughput
        cells = [
            us(lat.p50_us if lat else None),
            f"{thr.rps:,.0f}{spread(thr.rounds)}" if thr else "-",
            transfer_cell(result.download) if result.download else "-",
            rss_cell(result.download) if result.download else "-",
            transfer_cell(result.upload) if result.upload else "-",
            rss_cell(result.upload) if result.upload else "-",
            us(result.sse.p50_us if result.sse else None),
        ]
        lines.append(f"| {front.label} | " + " | ".join(cells) + " |")
    lines += ["", *[f"- {line}" for line in asgi_targets(run)]]
    return "\n".join(lines) + "\n"


def us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} µs"


def spread(rounds: list[float]) -> str:
    if len(rounds) < 2:
        return ""
    return " (" + ", ".join(f"{value:,.0f}" for value in rounds) + ")"


def transfer_cell(transfer: Transfer) -> str:
    if transfer.ok:
        return f"{transfer.seconds:.2f} s, {transfer.mb_s:,.0f} MB/s"
    return f"**{transfer.error}** ({transfer.seconds:.2f} s)"


def rss_cell(transfer: Transfer) -> str:
    return "?" if transfer.rss_growth is None else f"+{mib(transfer.rss_growth)}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def targets(run: Run) -> list[str]:
    results = run.results
    direct = results.get("direct")
    http = results.get("strangler_http")
    wsgi = results.get("strangler_wsgi")
    revproxy = results.get("revproxy")
    lines: list[str] = []

    d_lat, d_thr = _load(direct)
    h_lat, h_thr = _load(http)
    r_lat, r_thr = _load(revproxy)
    _, w_thr = _load(wsgi)
    if d_lat and d_thr and h_lat and h_thr and r_lat and r_thr:
        ours = h_lat.p50_us - d_lat.p50_us
        theirs = r_lat.p50_us - d_lat.p50_us
        m_lat, m_thr = _load(results.get("strangler_http_mw"))
        mw = (
            f" (middleware only: +{m_lat.p50_us - d_lat.p50_us:.0f} µs = "
            f"{(m_lat.p50_us - d_lat.p50_us) / theirs:.2f})"
            if m_lat
            else ""
        )
        lines.append(
            f"p50 added at 1 connection, HTTP transport ≤ ½ of django-revproxy's: "
            f"+{ours:.0f} µs vs +{theirs:.0f} µs = {ours / theirs:.2f} of it "
            f"{verdict(ours <= theirs / 2)}{mw}"
        )
        speedup = h_thr.rps / r_thr.rps
        mw = f" (middleware only: {m_thr.rps / r_thr.rps:.2f}x)" if m_thr else ""
        lines.append(
            f"throughput at 16 connections, HTTP transport ≥ 1.5x django-revproxy's: "
            f"{h_thr.rps:,.0f} vs {r_thr.rps:,.0f} req/s = "
            f"{speedup:.2f}x {verdict(speedup >= 1.5)}{mw}"
        )
    if d_thr and w_thr:
        kept = w_thr.rps / d_thr.rps
        _, mw_thr = _load(results.get("strangler_wsgi_mw"))
        mw = f" (middleware only: {mw_thr.rps / d_thr.rps:.0%})" if mw_thr else ""
        lines.append(
            f"in-process transport keeps ≥ 90% of Flask-direct throughput: "
            f"{w_thr.rps:,.0f} vs {d_thr.rps:,.0f} req/s = "
            f"{kept:.0%} {verdict(kept >= 0.9)}{mw}"
        )
    size = size_label(run.settings.size)
    for key, name in (("strangler_http", "HTTP"), ("strangler_wsgi", "in-process")):
        result = results.get(key)
        for direction in ("download", "upload"):
            mine = getattr(result, direction, None) if result else None
            reference = getattr(direct, direction, None) if direct else None
            if not isinstance(mine, Transfer) or not isinstance(reference, Transfer):
                continue
            if not mine.ok or not reference.ok or mine.rss_growth is None:
                lines.append(f"{size} {direction}, {name}: failed ({mine.error}) **not met**")
                continue
            speed = mine.mb_s / reference.mb_s
            small = mine.rss_growth < 5 * 2**20
            lines.append(
                f"{size} streamed {direction}, {name} transport, ≥ 80% of direct speed with "
                f"< 5 MiB worker RSS growth: {speed:.0%} of direct, +{mib(mine.rss_growth)} "
                f"{verdict(speed >= 0.8 and small)}"
            )
    if run.settings.size < 2**30:
        lines.append(f"(the large-body targets name 1 GB; this run used {size})")
    return lines


def asgi_targets(run: Run) -> list[str]:
    """The ASGI entry's targets: throughput, streaming against nginx, SSE against direct."""
    results = run.results
    asgi = results.get("strangler_asgi_http")
    if asgi is None:
        return []
    lines: list[str] = []
    _, a_thr = _load(asgi)
    _, f_thr = _load(results.get("strangler_http"))
    if a_thr and f_thr:
        kept = a_thr.rps / f_thr.rps
        _, aw_thr = _load(results.get("strangler_asgi_wsgi"))
        _, fw_thr = _load(results.get("strangler_wsgi"))
        other = (
            f" (in-process: {aw_thr.rps:,.0f} vs {fw_thr.rps:,.0f} req/s = "
            f"{aw_thr.rps / fw_thr.rps:.2f}x)"
            if aw_thr and fw_thr
            else ""
        )
        lines.append(
            f"throughput at 16 connections under ASGI (HTTP transport) ≥ the WSGI fast path "
            f"over HTTP: {a_thr.rps:,.0f} vs {f_thr.rps:,.0f} req/s = {kept:.2f}x "
            f"{verdict(kept >= 1.0)}{other}"
        )
    nginx = results.get("nginx")
    size = size_label(run.settings.size)
    for direction in ("download", "upload"):
        mine = getattr(asgi, direction)
        reference = getattr(nginx, direction, None) if nginx else None
        if not isinstance(mine, Transfer) or not isinstance(reference, Transfer):
            continue
        if not mine.ok or not reference.ok or mine.rss_growth is None:
            lines.append(f"{size} {direction} under ASGI: failed ({mine.error}) **not met**")
            continue
        speed = mine.mb_s / reference.mb_s
        small = mine.rss_growth < 5 * 2**20
        tuned = results.get("strangler_asgi_http_malloc")
        tuned_transfer = getattr(tuned, direction, None) if tuned else None
        also = (
            f" (malloc thresholds raised: {tuned_transfer.mb_s:,.0f} MB/s = "
            f"{tuned_transfer.mb_s / reference.mb_s:.0%} of nginx, "
            f"+{mib(tuned_transfer.rss_growth)})"
            if isinstance(tuned_transfer, Transfer)
            and tuned_transfer.ok
            and tuned_transfer.rss_growth is not None
            else ""
        )
        lines.append(
            f"{size} streamed {direction} under ASGI (HTTP transport) ≥ 80% of nginx's speed "
            f"with < 5 MiB growth: {mine.mb_s:,.0f} vs {reference.mb_s:,.0f} MB/s = "
            f"{speed:.0%} of nginx, +{mib(mine.rss_growth)} {verdict(speed >= 0.8 and small)}"
            f"{also}"
        )
    direct = results.get("direct")
    if asgi.sse and direct and direct.sse:
        for key, name in (("strangler_asgi_http", "HTTP"), ("strangler_asgi_wsgi", "in-process")):
            sse = results[key].sse if key in results else None
            if sse is None:
                continue
            added = sse.p50_us - direct.sse.p50_us
            lines.append(
                f"server-sent events under ASGI ({name}) within 1 ms of direct: p50 "
                f"{sse.p50_us:.0f} µs vs {direct.sse.p50_us:.0f} µs = {added:+.0f} µs "
                f"(p99 {sse.p99_us:.0f} vs {direct.sse.p99_us:.0f} µs) "
                f"{verdict(added <= 1000)}"
            )
    return lines


def observations(run: Run) -> list[str]:
    """What the tables show that a reader might miss, computed from this run."""
    results = run.results
    direct = results.get("direct")
    lines: list[str] = []
    cpu = {
        key: result.throughput.front_cpu_us
        for key, result in results.items()
        if result.throughput and result.throughput.front_cpu_us is not None
    }
    if {"direct", "strangler_http", "strangler_wsgi", "revproxy"} <= cpu.keys():
        lines.append(
            f"CPU per small request at 16 connections (median of the rounds): Flask's worker "
            f"{cpu['direct']:.0f} µs serving it directly; the Django worker "
            f"{cpu['strangler_http']:.0f} µs forwarding it over HTTP with django-strangler, "
            f"{cpu['revproxy']:.0f} µs with django-revproxy, and {cpu['strangler_wsgi']:.0f} µs "
            "in-process (Flask's work included). A saturated gthread worker also burns CPU "
            "on thread hand-offs, so these are costs under load, not per-request constants."
        )
    nginx = results.get("nginx")
    speeds = {
        (key, kind): transfer.mb_s
        for key, result in (("direct", direct), ("nginx", nginx))
        for kind, transfer in (
            ("download", result.download if result else None),
            ("upload", result.upload if result else None),
        )
        if transfer is not None and transfer.ok
    }
    if len(speeds) == 4:
        lines.append(
            f"nginx, a proxy with no application code, moves the "
            f"{size_label(run.settings.size)} download at "
            f"{speeds['nginx', 'download'] / speeds['direct', 'download']:.0%} and the upload "
            f"at {speeds['nginx', 'upload'] / speeds['direct', 'upload']:.0%} of direct speed "
            "on this machine: roughly what any proxy loses to the extra hop over loopback "
            f"here, where the client, the proxy and Flask share {os.cpu_count()} CPUs."
        )
    revproxy = results.get("revproxy")
    if revproxy and revproxy.html and revproxy.html.rss_growth is not None:
        lines.append(
            f"django-revproxy does not stream `text/html` (its `should_stream()` is false for "
            f"HTML): its worker grew by {mib(revproxy.html.rss_growth)} passing a "
            f"{size_label(run.settings.html_size)} page."
        )
    if revproxy and revproxy.upload and not revproxy.upload.ok:
        lines.append(
            "django-revproxy forwards a chunked upload with an empty body: it sends "
            "`request.body`, which Django reads as empty when there is no Content-Length. "
            f"Here: {revproxy.upload.error}."
        )
    if revproxy and revproxy.upload_length and not revproxy.upload_length.ok:
        lines.append(
            f"With a Content-Length, django-revproxy {revproxy.upload_length.error}. "
            "It reads "
            "`request.body`, which refuses bodies over `DATA_UPLOAD_MAX_MEMORY_SIZE` (2.5 MB in a "
            "new project); with the limit raised it would hold the whole body in memory."
        )
    growth = direct.upload_length.rss_growth if direct and direct.upload_length else None
    if growth and growth > 2**20:
        lines.append(
            f"Every gunicorn worker, Flask's own included (+{mib(growth)}), "
            "grows by a few MiB reading a large Content-Length body once; the 1 GiB rounds "
            "show it is not per byte."
        )
    return lines


def _load(result: FrontResult | None) -> tuple[Load | None, Load | None]:
    if result is None or result.failure:
        return None, None
    return result.latency, result.throughput


def write_section(path: Path, section: str) -> None:
    """Put ``section`` in ``path`` in place of its previous version, keeping other sections."""
    text = path.read_text() if path.exists() else DOC_INTRO
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if re.match(r"^## (?!#)", lines[i])),
            len(lines),
        )
        rest = "".join(lines[end:])
        new = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


# --- main -------------------------------------------------------------------------------


class BenchmarkTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise BenchmarkTimeout("the benchmark ran past --timeout")


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark Flask direct against django-strangler (HTTP and in-process), "
        "django-revproxy and nginx, side by side, on 127.0.0.1."
    )
    parser.add_argument(
        "--quick", action="store_true", help="a short smoke run: 1 round, 2 s loads, 64 MiB bodies"
    )
    parser.add_argument(
        "--size", type=int, default=None, help="bytes of the large streamed body (default 1 GiB)"
    )
    parser.add_argument(
        "--html-size",
        type=int,
        default=None,
        help="bytes of the text/html download (default 50 MiB)",
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per load measurement (default 4)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds of every measurement, fronts interleaved; medians are reported (default 5)",
    )
    parser.add_argument(
        "--write", type=Path, default=None, help="update this Markdown file's Forwarding section"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also save the raw results as JSON here"
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="stop everything after this many seconds"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=120,
        help="seconds to wait for a load average below 1 before measuring (default 120)",
    )
    parser.add_argument(
        "--fronts",
        type=_keys(FRONT_KEYS),
        default=None,
        help="only these fronts, comma-separated (Flask direct always runs): "
        + ", ".join(FRONT_KEYS),
    )
    parser.add_argument(
        "--measures",
        type=_keys(MEASURES),
        default=None,
        help="only these measurements, comma-separated: " + ", ".join(MEASURES),
    )
    parser.add_argument(
        "--python-load",
        action="store_true",
        help="use the Python load generator even when wrk is installed",
    )
    args = parser.parse_args(argv)
    if args.write and (args.fronts or args.measures):
        parser.error("--write needs the whole run: drop --fronts and --measures")
    return args


def _keys(allowed: tuple[str, ...]) -> Callable[[str], set[str]]:
    """An argparse type: a comma-separated subset of ``allowed``."""

    def parse(text: str) -> set[str]:
        keys = {key.strip() for key in text.split(",") if key.strip()}
        unknown = sorted(keys - set(allowed))
        if unknown or not keys:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(allowed)}"
            )
        return keys

    return parse


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_wrk = shutil.which("wrk") is not None and not args.python_load
    settings = Settings(
        duration=args.duration or (2.0 if args.quick else 4.0),
        rounds=args.rounds or (1 if args.quick else 5),
        size=args.size or (64 * 2**20 if args.quick else 2**30),
        html_size=args.html_size or (8 * 2**20 if args.quick else 50 * 2**20),
        client_requests=300 if args.quick else 3000,
        client_stream_size=32 * 2**20 if args.quick else 256 * 2**20,
        load_generator="wrk" if use_wrk else "python",
        quick=args.quick,
    )
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(args.timeout)
    wait_for_quiet_machine(0 if args.quick else args.wait_idle)
    machine = machine_facts(settings.load_generator)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="strangler-bench-") as tmp,
            Servers(Path(tmp)) as servers,
        ):
            workdir = Path(tmp)
            log("starting servers")
            flask = servers.gunicorn("flask", "benchmarks.flask_app:app")
            run = Run(
                settings=settings,
                fronts=start_fronts(servers, flask, args.fronts),
                machine=machine,
            )
            for front in run.fronts:
                if front.server is None:
                    log(f"{front.label}: skipped ({front.skipped})")
            measures = args.measures or set(MEASURES)
            check_fronts(run)
            if "load" in measures:
                measure_load(run, workdir)
            if "bodies" in measures:
                measure_bodies(run)
            if "events" in measures:
                log("server-sent events")
                measure_events(run)
            if "clients" in measures:
                log("HTTP clients")
                run.client_results = clients.measure_clients(
                    flask.url, settings.client_requests, settings.client_stream_size
                )
    finally:
        signal.alarm(0)
    machine["load after run"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    if args.write:
        image = args.write.parent / "forwarding.png"
        plot(run, image)
        settings.plot = image.name
        log(f"drew {image}")
    section = render(run) if not (args.fronts or args.measures) else render_partial(run)
    print(section)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json(run), indent=2))
    if args.write:
        write_section(args.write, section)
        log(f"wrote the {SECTION!r} section of {args.write}")
    return 0


def to_json(run: Run) -> dict[str, Any]:
    return {
        "settings": asdict(run.settings),
        "machine": run.machine,
        "fronts": {
            front.key: {
                "label": front.label,
                "skipped": front.skipped,
                **asdict(run.results.get(front.key, FrontResult())),
            }
            for front in run.fronts
        },
        "clients": [asdict(result) for result in run.client_results],
    }


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
