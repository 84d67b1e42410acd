"""The HTTP transport: pooled keep-alive connections, streamed both ways.

Sockets and a small pool are ours; the protocol rules are ``http11.py``'s
(pure, shared with the async transport). Earlier versions sat on the
standard library's ``http.client``, which a proxy cannot make strict
enough: it takes ``103 Early Hints`` for the final answer (the real one is
left on a pooled connection for the next user), reads a bare CR in a header
as a line break, and accepts a ``Content-Length`` next to chunked framing.
Measured (``benchmarks/forwarding_cpu.py``, docs/benchmarks.md, "Forwarding
hardening"), writing the head ourselves and parsing it with one split also
costs less CPU per request than ``http.client`` did (its header parser is
the ``email`` package's), and urllib3 and httpx cost more than
``http.client`` (``benchmarks/clients.py``); their extra features
(redirects, retries, decoding, re-encoding the target: ``%2f`` becomes
``%2F``) are what a proxy has to switch off. What
is ours: the pool, the retry rule (only idempotent requests, only when
nothing reached the upstream), and the mapping of failures to 502/504.
"""

from __future__ import annotations

import select
import socket
import threading
from collections import deque
from collections.abc import Iterable, Iterator

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
from .messages import UpstreamRequest, UpstreamResponse
from .upstream import HttpUpstream


class UpstreamConnection:
    """One socket to the upstream with its own read buffer.

    Owning the buffer (rather than a ``makefile()``) lets the pool see bytes
    the upstream sent past the end of a response: such a connection is
    never reused.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self._buffer = bytearray()

    @property
    def has_unread_bytes(self) -> bool:
        """Did the upstream send more than the response read so far?"""
        return bool(self._buffer)

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def _recv(self) -> bytes:
        assert self.sock is not None
        return self.sock.recv(65536)

    def read_head(self) -> bytes:
        """Bytes up to and including the empty line ending a response head."""
        searched = 0
        while True:
            end = self._buffer.find(b"\r\n\r\n", max(searched - 3, 0))
            if end >= 0:
                head = bytes(self._buffer[: end + 4])
                del self._buffer[: end + 4]
                return head
            searched = len(self._buffer)
            if searched > MAX_HEAD_BYTES:
                raise InvalidResponse("response head too large")
            data = self._recv()
            if not data:
                if not self._buffer:
                    raise ClosedBeforeAnswer("the upstream closed the connection")
                raise InvalidResponse("connection closed inside the response head")
            self._buffer += data

    def read_chunked(self, decoder: ChunkedDecoder, limit: int) -> bytes:
        """The next piece (at most ``limit`` bytes) of a chunked body; ``b""`` at its end."""
        while not decoder.done:
            if not self._buffer and decoder.data_left:
                # Inside a chunk, nothing buffered: straight from the socket, no copy.
                data = self.read_some(min(decoder.data_left, limit))
                if not data:
                    raise InvalidResponse("connection closed inside a chunk")
                decoder.took(len(data))
                return data
            views, used = decoder.feed(self._buffer, 0, len(self._buffer), limit)
            data = b"".join(views)
            views.clear()  # release the views before the buffer shrinks
            del self._buffer[:used]
            if data:
                return data
            if not decoder.done:
                more = self._recv()
                if not more:
                    raise InvalidResponse("connection closed inside a chunked body")
                self._buffer += more
        return b""

    def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes (buffered ones first); ``b""`` at end of stream."""
        if self._buffer:
            data = bytes(self._buffer[:limit])
            del self._buffer[:limit]
            return data
        assert self.sock is not None
        return self.sock.recv(limit)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _is_dropped(sock: socket.socket) -> bool:
    """Has the peer closed (or written to) this idle socket?

    An idle keep-alive connection has nothing to read; if it is readable,
    the upstream closed it (EOF) or sent garbage, and it must not be reused.
    """
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


class ConnectionPool:
    """Idle keep-alive connections to one upstream, most recently used first.

    Thread-safe without a lock on the hot path: ``deque.append`` and
    ``deque.pop`` are atomic. A connection is only ever returned after its
    response was read to the end, so a pooled connection never carries
    leftovers of another request.
    """

    def __init__(
        self,
        upstream: HttpUpstream,
        *,
        maxsize: int,
        connect_timeout: float,
        read_timeout: float,
        ca_bundle: str | None = None,
    ) -> None:
        self.upstream = upstream
        self.maxsize = maxsize
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: deque[UpstreamConnection] = deque()
        self._opened = 0
        self._count_lock = threading.Lock()
        self._tls = upstream.tls_context(ca_bundle)

    @property
    def opened(self) -> int:
        """How many connections this pool has opened (for tests and stats)."""
        return self._opened

    @property
    def idle(self) -> int:
        """How many connections are waiting in the pool."""
        return len(self._idle)

    def acquire(self) -> tuple[UpstreamConnection, bool]:
        """An open connection and whether it was reused from the pool.

        Raises ``OSError`` (``TimeoutError`` for a connect timeout) when a new
        connection cannot be made: nothing was sent.
        """
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return self._connect(), False
            if conn.sock is not None and not _is_dropped(conn.sock):
                return conn, True
            conn.close()

    def release(self, conn: UpstreamConnection) -> None:
        """Return a connection whose response was read to its framed end, and no further."""
        if conn.sock is not None and not conn.has_unread_bytes and len(self._idle) < self.maxsize:
            self._idle.append(conn)
        else:
            conn.close()

    def clear(self) -> None:
        """Close every idle connection."""
        while True:
            try:
                self._idle.pop().close()
            except IndexError:
                return

    def _connect(self) -> UpstreamConnection:
        host, port = self.upstream.host, self.upstream.port
        # Connected here so that a failure is known to have sent nothing:
        # the one failure an idempotent request may be retried after.
        sock = socket.create_connection((host, port), timeout=self.connect_timeout)
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=host)
            sock.settimeout(self.read_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        with self._count_lock:
            self._opened += 1
        return UpstreamConnection(sock)


class HttpTransport:
    """Send :class:`UpstreamRequest` objects to an HTTP upstream."""

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
        self.address: HttpUpstream | None = upstream
        self.name = str(upstream)
        self.base_path = upstream.base_path
        self.retries = retries
        self.chunk_size = chunk_size
        self.preserve_host = preserve_host
        self.pool = ConnectionPool(
            upstream,
            maxsize=pool_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ca_bundle=ca_bundle,
        )

    def close(self) -> None:
        """Close the idle pooled connections (in-flight ones close as they finish)."""
        self.pool.clear()

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send the request and return once the upstream's final response head arrived."""
        host = request.host if self.preserve_host and request.host else self.upstream.netloc
        has_body = request.body is not None
        head_bytes, chunked = encode_head(request, host, has_body)
        tries = attempts(request, self.retries)
        for attempt in range(1, tries + 1):
            try:
                conn, reused = self.pool.acquire()
            except OSError as exc:
                if attempt < tries and not isinstance(exc, TimeoutError):
                    continue
                raise connect_failure(exc) from exc
            try:
                conn.send(head_bytes)
                if request.body is not None:
                    _send_body(conn, request.body, chunked=chunked)
                head = _read_final_head(conn, request.method)
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
        self, conn: UpstreamConnection, head: ResponseHead, request: UpstreamRequest
    ) -> UpstreamResponse:
        state = {"done": False, "complete": False}

        def close() -> None:
            if state["done"]:
                return
            state["done"] = True
            if reusable_after(head, complete=state["complete"]):
                self.pool.release(conn)
            else:
                conn.close()

        def body() -> Iterator[bytes]:
            try:
                yield from _read_body(conn, head, self.chunk_size)
            except (OSError, InvalidResponse) as exc:
                state["done"] = True
                conn.close()
                raise stream_failure(self.upstream, request, exc) from exc
            state["complete"] = True
            close()

        return UpstreamResponse(
            status=head.status,
            reason=head.reason,
            headers=client_framing(head),
            body=body(),
            close=close,
        )


def _read_final_head(conn: UpstreamConnection, method: str) -> ResponseHead:
    for _ in range(MAX_INTERIM_RESPONSES):
        head = parse_response_head(conn.read_head(), request_method=method)
        if is_final(head):
            return head
    raise InvalidResponse("too many interim responses")


def _read_body(conn: UpstreamConnection, head: ResponseHead, chunk_size: int) -> Iterator[bytes]:
    if head.framing == "length":
        remaining = head.length or 0
        while remaining:
            data = conn.read_some(min(chunk_size, remaining))
            if not data:
                raise InvalidResponse(f"connection closed {remaining} bytes before the body's end")
            remaining -= len(data)
            yield data
    elif head.framing == "chunked":
        decoder = ChunkedDecoder()  # trailers are read past: a WSGI server cannot send them
        while data := conn.read_chunked(decoder, chunk_size):
            yield data
    elif head.framing == "close":
        while data := conn.read_some(chunk_size):
            yield data


def _send_body(conn: UpstreamConnection, body: Iterable[bytes], *, chunked: bool) -> None:
    for chunk in body:
        if not chunk:
            continue  # an empty chunk would end a chunked body early
        if chunked:
            conn.send(b"%b%b\r\n" % (chunk_header(len(chunk)), chunk))
        else:
            conn.send(chunk)
    if chunked:
        conn.send(LAST_CHUNK)
