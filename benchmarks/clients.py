"""Per-request cost of the HTTP clients the forwarder could be built on.

Run against the benchmark Flask app under gunicorn on 127.0.0.1, one
keep-alive connection, sequential requests: wall time and the client's own
CPU time per request (CPU time is what a client costs inside the Django
worker, where it competes with Django for the GIL), then the speed of
streaming a large body through each client in 64 KiB reads.

    python benchmarks/clients.py [--requests N] [--stream-size BYTES]

``benchmarks/forwarding.py`` runs the same measurement and puts the table in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import urllib3
from urllib3.connection import HTTPConnection

from benchmarks.servers import Servers

READ_SIZE = 64 * 1024
SMALL_PATH = "/hello"


class Client:
    """One client over one keep-alive connection: a small GET, and a streamed GET."""

    name = ""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def get(self) -> bytes:
        raise NotImplementedError

    def stream(self, target: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class StdlibClient(Client):
    name = "http.client (standard library), connection kept"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.conn = http.client.HTTPConnection(self.host, self.port)

    def get(self) -> bytes:
        self.conn.request("GET", SMALL_PATH)
        return self.conn.getresponse().read()

    def stream(self, target: str) -> int:
        self.conn.request("GET", target)
        response = self.conn.getresponse()
        total = 0
        while chunk := response.read1(READ_SIZE):
            total += len(chunk)
        return total

    def close(self) -> None:
        self.conn.close()


class Urllib3ConnectionClient(Client):
    """urllib3's connection class, kept and reused, without its pool."""

    name = "urllib3 HTTPConnection, connection kept"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.conn = HTTPConnection(self.host, self.port, blocksize=READ_SIZE)

    def get(self) -> bytes:
        self.conn.request("GET", SMALL_PATH, preload_content=False, decode_content=False)
        return self.conn.getresponse().read()

    def stream(self, target: str) -> int:
        self.conn.request("GET", target, preload_content=False, decode_content=False)
        response = self.conn.getresponse()
        total = 0
        while chunk := response.read1(READ_SIZE):
            total += len(chunk)
        return total

    def close(self) -> None:
        self.conn.close()


class Urllib3PoolClient(Client):
    name = "urllib3 HTTPConnectionPool.urlopen, pool of 1"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.pool = urllib3.HTTPConnectionPool(self.host, self.port, maxsize=1, block=True)

    def get(self) -> bytes:
        response = self.pool.urlopen(
            "GET", SMALL_PATH, preload_content=False, decode_content=False, retries=False
        )
        data = response.read()
        response.release_conn()
        return data

    def stream(self, target: str) -> int:
        response = self.pool.urlopen(
            "GET", target, preload_content=False, decode_content=False, retries=False
        )
        total = 0
        while chunk := response.read1(READ_SIZE):
            total += len(chunk)
        response.release_conn()
        return total

    def close(self) -> None:
        self.pool.close()


class HttpxClient(Client):
    name = "httpx.Client"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.client = httpx.Client(base_url=url)

    def get(self) -> bytes:
        return self.client.get(SMALL_PATH).content

    def stream(self, target: str) -> int:
        total = 0
        with self.client.stream("GET", target) as response:
            for chunk in response.iter_raw(READ_SIZE):
                total += len(chunk)
        return total

    def close(self) -> None:
        self.client.close()


CLIENTS: list[type[Client]] = [
    StdlibClient,
    Urllib3ConnectionClient,
    Urllib3PoolClient,
    HttpxClient,
]


@dataclass
class ClientResult:
    name: str
    wall_p50_us: float
    wall_mean_us: float
    cpu_us: float
    stream_mb_s: float


def measure_client(cls: type[Client], url: str, requests: int, stream_size: int) -> ClientResult:
    client = cls(url)
    try:
        expected = client.get()
        for _ in range(min(200, requests)):  # warm up: imports, connection, caches
            if client.get() != expected:
                raise RuntimeError(f"{cls.name}: unexpected body")
        walls: list[float] = []
        cpu_start = time.thread_time()
        for _ in range(requests):
            start = time.perf_counter()
            client.get()
            walls.append(time.perf_counter() - start)
        cpu = time.thread_time() - cpu_start
        start = time.perf_counter()
        received = client.stream(f"/stream?size={stream_size}")
        elapsed = time.perf_counter() - start
        if received != stream_size:
            raise RuntimeError(f"{cls.name}: streamed {received} of {stream_size} bytes")
    finally:
        client.close()
    return ClientResult(
        name=cls.name,
        wall_p50_us=statistics.median(walls) * 1e6,
        wall_mean_us=statistics.fmean(walls) * 1e6,
        cpu_us=cpu / requests * 1e6,
        stream_mb_s=stream_size / elapsed / 1e6,
    )


def measure_clients(url: str, requests: int, stream_size: int) -> list[ClientResult]:
    """Each client in turn against the Flask server at ``url``."""
    return [measure_client(cls, url, requests, stream_size) for cls in CLIENTS]


def markdown_table(results: list[ClientResult], requests: int, stream_size: int) -> str:
    lines = [
        f"| client | p50 per request | mean per request | client CPU per request "
        f"| stream {stream_size / 2**20:.0f} MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.name} | {result.wall_p50_us:.0f} µs | {result.wall_mean_us:.0f} µs "
            f"| {result.cpu_us:.0f} µs | {result.stream_mb_s:,.0f} MB/s |"
        )
    lines.append("")
    lines.append(
        f"{requests} sequential `GET /hello` (1.2 KiB page) per client over one keep-alive "
        f"connection after a warm-up; CPU is the calling thread's CPU time "
        f"(`time.thread_time`), so it excludes the server."
    )
    return "\n".join(lines)


def conclusion(results: list[ClientResult]) -> str:
    """Which client is cheapest and fastest, in a sentence."""
    if not results:
        return ""
    cheapest = min(results, key=lambda result: result.cpu_us)
    fastest = max(results, key=lambda result: result.stream_mb_s)
    others = ", ".join(
        f"{result.name.split(',')[0]} {result.cpu_us:.0f} µs"
        for result in results
        if result is not cheapest
    )
    return (
        f"Least client CPU per request: {cheapest.name.split(',')[0]}, "
        f"{cheapest.cpu_us:.0f} µs ({others}). Fastest stream: "
        f"{fastest.name.split(',')[0]}, {fastest.stream_mb_s:,.0f} MB/s. Inside the Django "
        "worker a client's CPU is taken from Django under the same GIL."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per client")
    parser.add_argument(
        "--stream-size", type=int, default=256 * 2**20, help="bytes of the streamed body"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="strangler-bench-") as tmp, Servers(Path(tmp)) as run:
        flask = run.gunicorn("flask", "benchmarks.flask_app:app")
        results = measure_clients(flask.url, args.requests, args.stream_size)
    print(markdown_table(results, args.requests, args.stream_size))
    print()
    print(conclusion(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
