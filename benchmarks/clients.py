"""Per-request cost of the HTTP clients the forwarder could be built on.

Run against the benchmark Flask app under gunicorn on 127.0.0.1, one
keep-alive connection, sequential requests: wall time and the client's own
CPU time per request (CPU time is what a client costs inside the Django
worker, where it competes with Django for the GIL), then the speed of
streaming a large body through each client in 64 KiB reads.

    python benchmarks/clients.py [--requests N] [--stream-size BYTES]

``benchmarks/forwarding.py`` runs the same measurement and puts the table in
docs/benchmarks.md. ``benchmarks/async_clients.py`` measures the async clients
with the pieces shared here (the endpoint, the result, the table, the server).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import urllib3
from urllib3.connection import HTTPConnection

from benchmarks.servers import Servers

READ_SIZE = 64 * 1024
SMALL_PATH = "/hello"


class Endpoint:
    """A client of the server at ``url`` (its host and port), by the ``name`` tables show."""

    name = ""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80


class Client(Endpoint):
    """One client over one keep-alive connection: a small GET, and a streamed GET."""

    def get(self) -> bytes:
        raise NotImplementedError

    def stream(self, target: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Readable(Protocol):
    def read1(self, amount: int, /) -> bytes: ...


def drain(response: Readable) -> int:
    """Read a response's body to its end in ``READ_SIZE`` reads; the bytes received."""
    total = 0
    while chunk := response.read1(READ_SIZE):
        total += len(chunk)
    return total


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
        return drain(self.conn.getresponse())

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
        return drain(self.conn.getresponse())

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
        total = drain(response)
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

    @classmethod
    def from_timings(
        cls,
        name: str,
        walls: list[float],
        cpu: float,
        streamed: tuple[int, int, float],
    ) -> ClientResult:
        """From each request's wall time, the requests' CPU time, and the stream's
        (received, expected, seconds); a short stream is an error, not a figure."""
        received, expected, elapsed = streamed
        if received != expected:
            raise RuntimeError(f"{name}: streamed {received} of {expected} bytes")
        return cls(
            name=name,
            wall_p50_us=statistics.median(walls) * 1e6,
            wall_mean_us=statistics.fmean(walls) * 1e6,
            cpu_us=cpu / len(walls) * 1e6,
            stream_mb_s=expected / elapsed / 1e6,
        )


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
        received = client.stream(stream_target(stream_size))
        streamed = (received, stream_size, time.perf_counter() - start)
    finally:
        client.close()
    return ClientResult.from_timings(cls.name, walls, cpu, streamed)


def stream_target(size: int) -> str:
    """The benchmark Flask app's path that streams ``size`` bytes."""
    return f"/stream?size={size}"


def measure_clients(url: str, requests: int, stream_size: int) -> list[ClientResult]:
    """Each client in turn against the Flask server at ``url``."""
    return [measure_client(cls, url, requests, stream_size) for cls in CLIENTS]


def markdown_table(
    results: list[ClientResult],
    requests: int,
    stream_size: int,
    cpu: str = "client CPU",
    setting: str = "",
) -> str:
    """The results as a Markdown table; ``cpu`` names the CPU column, ``setting`` adds a
    clause on how the clients ran (``", each client in its own event loop"``)."""
    lines = [
        f"| client | p50 per request | mean per request | {cpu} per request "
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
        f"connection after a warm-up{setting}; CPU is the calling thread's CPU time "
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


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options of a client benchmark: requests per client, size of the streamed body."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per client")
    parser.add_argument(
        "--stream-size", type=int, default=256 * 2**20, help="bytes of the streamed body"
    )
    return parser


@contextmanager
def flask_server() -> Iterator[str]:
    """The benchmark Flask app under gunicorn on 127.0.0.1, for the ``with`` block; its URL."""
    with tempfile.TemporaryDirectory(prefix="strangler-bench-") as tmp, Servers(Path(tmp)) as run:
        yield run.gunicorn("flask", "benchmarks.flask_app:app").url


def main(argv: list[str] | None = None) -> int:
    args = argument_parser(__doc__).parse_args(argv)
    with flask_server() as url:
        results = measure_clients(url, args.requests, args.stream_size)
    print(markdown_table(results, args.requests, args.stream_size))
    print()
    print(conclusion(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
