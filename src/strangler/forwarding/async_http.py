"""The async HTTP transport for the ASGI entry path: ``async_stream.py`` and ``http11.py``.

The HTTP/1.1 rules are the blocking transport's, literally: the request
head is written by ``http11.request_head`` and the answer is read by
``http11.parse_response_head`` and ``parse_chunk_size`` (strict CRLF, no
control characters, interim 1xx dropped, one unambiguous framing), so a
response the WSGI paths refuse is refused here too, and what is pooled
follows the same rule: only a connection whose answer was read to its
framed end, with nothing after it, carries another request. A chunked
body is decoded by ``http11.ChunkedDecoder`` straight from the
connection's receive buffer, and what has arrived goes to the client as
one piece, across chunk boundaries: one copy per byte in the front.

Chosen by measurement (``benchmarks/async_clients.py``, docs/asgi.md)
against httpx.AsyncClient, aiohttp and a client on h11: the least loop CPU
per small request of the four, streaming within 10-20% of aiohttp (C
parser), and the only one that applies the WSGI paths' rules exactly and
sends header bytes unchanged (aiohttp writes header values as UTF-8).
What is ours is I/O only: the pool, the retry rule (only
idempotent requests, only when the connection could not be made or a
kept-alive one was found closed before a body-less request was processed),
timeouts (``CONNECT_TIMEOUT``, ``READ_TIMEOUT`` for every read and write),
and the mapping of failures to 502/504.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from .async_stream import UpstreamStream
from .errors import BadRequestBody
from .exchange import (
    ClosedBeforeAnswer,
    all_attempts_closed,
    answer_failure,
    attempts,
    client_framing,
    connect_failure,
    encode_head,
    is_final,
    may_send_again,
    reusable_after,
    stream_failure,
)
from .headers import Headers
from .http11 import (
    LAST_CHUNK,
    MAX_HEAD_BYTES,
    MAX_INTERIM_RESPONSES,
    ChunkedDecoder,
    InvalidResponse,
    ResponseHead,
    chunk_header,
    parse_response_head,
)
from .messages import UpstreamRequest
from .upstream import HttpUpstream

# The receive buffer of a connection: room for a response head, and for a
# body to arrive in large reads.
_BUFFER = 256 * 1024


@dataclass
class AsyncUpstreamResponse:
    """The upstream's answer: head read, body still to stream."""

    status: int
    reason: str
    headers: Headers
    body: AsyncIterator[bytes]
    # Releases the connection (to the pool only if the body was read to its end).
    aclose: Callable[[], Awaitable[None]]


class AsyncConnection:
    """One connection to the upstream: its stream, and a timeout for every wait."""

    def __init__(self, stream: UpstreamStream, timeout: float, chunk_size: int) -> None:
        assert stream.transport is not None
        self.stream = stream
        self.transport = stream.transport
        self.timeout = timeout
        self.chunk_size = chunk_size

    @property
    def reusable(self) -> bool:
        """Open, with nothing unread: the upstream neither closed it nor sent extra bytes."""
        return not (self.transport.is_closing() or self.stream.at_eof or self.stream.buffered)

    async def send(self, *pieces: bytes | memoryview) -> None:
        self.transport.writelines(pieces)
        if self.transport.get_write_buffer_size() > 256 * 1024:
            await self.stream.drain(self.timeout)

    async def flush(self) -> None:
        await self.stream.drain(self.timeout)

    async def more(self) -> bool:
        """Wait for more bytes from the upstream; False once it closed the connection."""
        return await self.stream.wait_for_data(self.timeout)

    async def read_head(self) -> bytes:
        stream = self.stream
        while (size := stream.find(b"\r\n\r\n", MAX_HEAD_BYTES)) < 0:
            if stream.buffered >= MAX_HEAD_BYTES:
                raise InvalidResponse("response head too large")
            if not await self.more():
                if not stream.buffered:
                    raise ClosedBeforeAnswer()
                raise InvalidResponse("connection closed inside the response head")
        return stream.take(size)

    async def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes; ``b""`` once the upstream closed the connection."""
        if not self.stream.buffered and not await self.more():
            return b""
        return self.stream.take(limit)

    def close(self) -> None:
        self.transport.close()


class AsyncHttpTransport:
    """Send :class:`UpstreamRequest` objects to an HTTP upstream from an event loop."""

    def __init__(
        self,
        upstream: HttpUpstream,
        *,
        pool_size: int = 16,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 1,
        chunk_size: int = 64 * 1024,
        preserve_host: bool = False,
        ca_bundle: str | None = None,
    ) -> None:
        self.upstream = upstream
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.chunk_size = chunk_size
        self.preserve_host = preserve_host
        #: How an https:// upstream is verified (None for http://); WebSockets use it too.
        self.tls = upstream.tls_context(ca_bundle)
        # Idle connections per event loop (uvicorn has one per process), newest last.
        self._idle: dict[asyncio.AbstractEventLoop, deque[AsyncConnection]] = {}

    def host_header(self, request: UpstreamRequest) -> str:
        """The Host sent upstream: the upstream's, or the client's with PRESERVE_HOST."""
        return request.host if self.preserve_host and request.host else self.upstream.netloc

    async def aclose(self) -> None:
        """Close this loop's idle connections."""
        idle = self._idle.pop(asyncio.get_running_loop(), deque())
        while idle:
            idle.pop().close()

    def close(self) -> None:
        """Forget the idle connections (settings changed); they close with their loop."""
        self._idle.clear()

    async def _acquire(self) -> tuple[AsyncConnection, bool]:
        idle = self._idle.setdefault(asyncio.get_running_loop(), deque())
        while idle:
            conn = idle.pop()
            if conn.reusable:
                return conn, True
            conn.close()
        return await self._connect(), False

    def _release(self, conn: AsyncConnection) -> None:
        idle = self._idle.setdefault(asyncio.get_running_loop(), deque())
        if conn.reusable and len(idle) < self.pool_size:
            idle.append(conn)
        else:
            conn.close()

    async def _connect(self) -> AsyncConnection:
        async with asyncio.timeout(self.connect_timeout):
            transport, stream = await asyncio.get_running_loop().create_connection(
                lambda: UpstreamStream(_BUFFER),
                self.upstream.host,
                self.upstream.port,
                ssl=self.tls,
            )
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return AsyncConnection(stream, self.read_timeout, self.chunk_size)

    async def send(
        self, request: UpstreamRequest, body: AsyncIterable[bytes] | None
    ) -> AsyncUpstreamResponse:
        """Send the request; return once the upstream's final head has arrived.

        ``body`` streams the client's body; ``request.content_length`` frames
        it (``None`` with a body: chunked), as the core decided.
        """
        has_body = body is not None
        head_bytes, _ = encode_head(request, self.host_header(request), has_body)
        tries = attempts(request, self.retries)
        for attempt in range(1, tries + 1):
            try:
                conn, reused = await self._acquire()
            except OSError as exc:
                if attempt < tries and not isinstance(exc, TimeoutError):
                    continue
                raise connect_failure(exc) from exc
            try:
                await conn.send(head_bytes)
                if body is not None:
                    await _send_body(conn, body, request.content_length)
                await conn.flush()
                head = await _read_final_head(conn, request.method)
            except Exception as exc:
                conn.close()
                if may_send_again(
                    exc, reused=reused, has_body=has_body, idempotent=request.idempotent
                ):
                    continue
                failure = answer_failure(exc)
                if failure is None or failure is exc:
                    raise
                raise failure from exc
            return self._stream(conn, head, request)
        raise all_attempts_closed()

    def _stream(
        self, conn: AsyncConnection, head: ResponseHead, request: UpstreamRequest
    ) -> AsyncUpstreamResponse:
        state = {"done": False, "complete": False}

        async def aclose() -> None:
            if state["done"]:
                return
            state["done"] = True
            if reusable_after(head, complete=state["complete"]):
                self._release(conn)
            else:
                conn.close()

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in _read_body(conn, head, _BUFFER):
                    yield chunk
            except (OSError, InvalidResponse) as exc:
                state["done"] = True
                conn.close()
                raise stream_failure(self.upstream, request, exc) from exc
            state["complete"] = True
            await aclose()

        return AsyncUpstreamResponse(
            status=head.status,
            reason=head.reason,
            headers=client_framing(head),
            body=body(),
            aclose=aclose,
        )


async def _send_body(conn: AsyncConnection, body: AsyncIterable[bytes], length: int | None) -> None:
    sent = 0
    async for chunk in body:
        if not chunk:
            continue  # an empty chunk would end a chunked body early
        if length is None:
            # Chunks of at most chunk_size, like the blocking transport's:
            # a WSGI server's chunked reader (gunicorn's) copies the unread
            # rest of a chunk on every read, so a larger chunk costs it more.
            # All of a piece's chunks in one write (one writev), without copying it.
            view = memoryview(chunk)
            frames: list[bytes | memoryview] = []
            for offset in range(0, len(view), conn.chunk_size):
                piece = view[offset : offset + conn.chunk_size]
                frames += (chunk_header(len(piece)), piece, b"\r\n")
            await conn.send(*frames)
        else:
            sent += len(chunk)
            if sent > length:
                raise BadRequestBody(400, "the request body is longer than its Content-Length")
            await conn.send(chunk)
    if length is None:
        await conn.send(LAST_CHUNK)
    elif sent != length:
        raise BadRequestBody(400, "the client closed the connection before sending its body")


async def _read_final_head(conn: AsyncConnection, method: str) -> ResponseHead:
    for _ in range(MAX_INTERIM_RESPONSES):
        head = parse_response_head(await conn.read_head(), request_method=method)
        if is_final(head):
            return head
    raise InvalidResponse("too many interim responses")


async def _read_body(conn: AsyncConnection, head: ResponseHead, limit: int) -> AsyncIterator[bytes]:
    """The body's pieces as they arrive: all that is received, up to ``limit`` bytes a piece.

    A piece is never held back waiting for more (a server-sent event goes
    out as soon as it is in), but what has already arrived goes out as one
    piece, across chunk boundaries: fewer, larger writes to the client.
    """
    if head.framing == "chunked":
        stream = conn.stream
        decoder = ChunkedDecoder()
        while not decoder.done:
            views, stream.start = decoder.feed(stream.buffer, stream.start, stream.end, limit)
            if views:
                # Copied now: the views share the buffer the loop reads into.
                yield bytes(views[0]) if len(views) == 1 else b"".join(views)
            elif not decoder.done and not await conn.more():
                raise InvalidResponse("connection closed inside a chunked body")
    elif head.framing == "length":
        remaining = head.length or 0
        while remaining:
            data = await conn.read_some(min(limit, remaining))
            if not data:
                raise InvalidResponse(f"connection closed {remaining} bytes before the body's end")
            remaining -= len(data)
            yield data
    elif head.framing == "close":
        while data := await conn.read_some(limit):
            yield data
