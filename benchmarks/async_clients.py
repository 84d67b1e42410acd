"""Per-request cost of the async HTTP clients the ASGI transport could be built on.

The ASGI entry path (``strangler.asgi``) forwards from inside the event loop,
so its client's CPU per request is taken from every other request the loop
serves. Measured here against the benchmark Flask app under gunicorn on
127.0.0.1, one keep-alive connection, sequential requests: wall time and the
loop thread's CPU time per small request, then the speed of streaming a
large body in 64 KiB reads.

    python benchmarks/async_clients.py [--requests N] [--stream-size BYTES]

Candidates: ``httpx.AsyncClient``, ``aiohttp.ClientSession`` (C parser), and a
small client of our own on ``h11`` over an asyncio stream, the shape
``strangler.forwarding.async_http`` would take without a client library.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import h11
import httpx

from benchmarks.clients import (
    READ_SIZE,
    SMALL_PATH,
    ClientResult,
    Endpoint,
    argument_parser,
    flask_server,
    markdown_table,
    stream_target,
)
from strangler.forwarding.async_http import AsyncHttpTransport
from strangler.forwarding.messages import UpstreamRequest
from strangler.forwarding.upstream import HttpUpstream, parse_upstream


class AsyncClient(Endpoint):
    """One client over one keep-alive connection: a small GET, and a streamed GET."""

    async def get(self) -> bytes:
        raise NotImplementedError

    async def stream(self, target: str) -> int:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class HttpxAsyncClient(AsyncClient):
    name = "httpx.AsyncClient"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.client = httpx.AsyncClient(base_url=url)

    async def get(self) -> bytes:
        return (await self.client.get(SMALL_PATH)).content

    async def stream(self, target: str) -> int:
        total = 0
        async with self.client.stream("GET", target) as response:
            async for chunk in response.aiter_raw(READ_SIZE):
                total += len(chunk)
        return total

    async def close(self) -> None:
        await self.client.aclose()


class AiohttpClient(AsyncClient):
    name = "aiohttp.ClientSession"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                self.url,
                connector=aiohttp.TCPConnector(limit=1),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self.session

    async def get(self) -> bytes:
        async with self._session().get(SMALL_PATH, allow_redirects=False) as response:
            return await response.read()

    async def stream(self, target: str) -> int:
        total = 0
        async with self._session().get(target, allow_redirects=False) as response:
            async for chunk in response.content.iter_chunked(READ_SIZE):
                total += len(chunk)
        return total

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


class ChunkedAsyncClient(AsyncClient):
    """A client whose one primitive is ``_request``: a GET's body, chunk by chunk."""

    def _request(self, target: str) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def get(self) -> bytes:
        return b"".join([chunk async for chunk in self._request(SMALL_PATH)])

    async def stream(self, target: str) -> int:
        total = 0
        async for chunk in self._request(target):
            total += len(chunk)
        return total


class H11Client(ChunkedAsyncClient):
    """h11 (sans-IO HTTP/1.1) over an asyncio stream, about fifty lines of ours."""

    name = "h11 over asyncio streams (ours)"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.conn = h11.Connection(h11.CLIENT)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def _request(self, target: str):
        reader, writer = await self._connect()
        if self.conn.our_state is h11.DONE:
            self.conn.start_next_cycle()
        writer.write(
            self.conn.send(h11.Request(method="GET", target=target, headers=[("Host", self.host)]))
            + self.conn.send(h11.EndOfMessage())
        )
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await reader.read(READ_SIZE))
                continue
            if isinstance(event, h11.Response):
                break
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await reader.read(READ_SIZE))
                continue
            if isinstance(event, h11.EndOfMessage):
                return
            if isinstance(event, h11.Data):
                yield event.data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class StranglerClient(ChunkedAsyncClient):
    """django-strangler's own async transport: asyncio streams and ``http11.py``."""

    name = "strangler AsyncHttpTransport (asyncio streams + http11.py)"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        upstream = parse_upstream(url)
        assert isinstance(upstream, HttpUpstream)
        self.transport = AsyncHttpTransport(upstream, pool_size=1, chunk_size=READ_SIZE)

    async def _request(self, target: str) -> AsyncIterator[bytes]:
        request = UpstreamRequest(method="GET", target=target, headers=[])
        response = await self.transport.send(request, None)
        async for chunk in response.body:
            yield chunk

    async def close(self) -> None:
        await self.transport.aclose()


CLIENTS: list[type[AsyncClient]] = [HttpxAsyncClient, AiohttpClient, H11Client, StranglerClient]


async def measure_client(
    cls: type[AsyncClient], url: str, requests: int, stream_size: int
) -> ClientResult:
    client = cls(url)
    try:
        expected = await client.get()
        for _ in range(min(200, requests)):  # warm up: imports, connection, caches
            if await client.get() != expected:
                raise RuntimeError(f"{cls.name}: unexpected body")
        walls: list[float] = []
        cpu_start = time.thread_time()
        for _ in range(requests):
            start = time.perf_counter()
            await client.get()
            walls.append(time.perf_counter() - start)
        cpu = time.thread_time() - cpu_start
        start = time.perf_counter()
        received = await client.stream(stream_target(stream_size))
        streamed = (received, stream_size, time.perf_counter() - start)
    finally:
        await client.close()
    return ClientResult.from_timings(cls.name, walls, cpu, streamed)


def measure_clients(url: str, requests: int, stream_size: int) -> list[ClientResult]:
    """Each client in turn, each in a fresh event loop, against the Flask server at ``url``."""
    return [asyncio.run(measure_client(cls, url, requests, stream_size)) for cls in CLIENTS]


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="rounds, clients taking turns")
    args = parser.parse_args(argv)
    with flask_server() as url:
        for _ in range(args.rounds):
            results = measure_clients(url, args.requests, args.stream_size)
            table = markdown_table(
                results,
                args.requests,
                args.stream_size,
                cpu="loop CPU",
                setting=", each client in its own event loop",
            )
            print(table)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
