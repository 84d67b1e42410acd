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

import logging
import select
import socket
import threading
from collections import deque
from collections.abc import Iterable, Iterator

from .errors import (
    BadRequestBody,
    UpstreamStreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from .headers import Headers
from .http11 import (
    MAX_HEAD_BYTES,
    MAX_INTERIM_RESPONSES,
    InvalidRequest,
    InvalidResponse,
    ResponseHead,
    parse_chunk_size,
    parse_response_head,
    request_head,
)
from .messages import UpstreamRequest, UpstreamResponse
from .upstream import HttpUpstream

logger = logging.getLogger("strangler.forwarding")

# Errors that mean the connection broke before any response arrived.
_DROPPED = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_MAX_LINE = 8 * 1024
_MAX_TRAILERS = 64


class ClosedBeforeAnswer(ConnectionError):
    """The upstream closed the connection before sending a byte of its answer."""


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

    def read_line(self) -> bytes:
        """One line, its CRLF included (for chunk sizes and trailers)."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > _MAX_LINE:
                raise InvalidResponse("chunk size line too long")
            data = self._recv()
            if not data:
                raise InvalidResponse("connection closed inside a chunked body")
            self._buffer += data

    def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes (buffered ones first); ``b""`` at end of stream."""
        if self._buffer:
            data = bytes(self._buffer[:limit])
            del self._buffer[:limit]
            return data
        assert self.sock is not None
        return self.sock.recv(limit)

    def read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            more = self.read_some(size - len(data))
            if not more:
                raise InvalidResponse("connection closed inside the response body")
            data += more
        return data

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
        attempts = 1 + max(self.retries, 0) if request.idempotent else 1
        host = request.host if self.preserve_host and request.host else self.upstream.netloc
        chunked = request.body is not None and request.content_length is None
        try:
            head_bytes = request_head(
                request.method,
                request.target,
                host,
                request.headers,
                request.content_length,
                chunked,
            )
        except InvalidRequest as exc:
            raise BadRequestBody(400, str(exc)) from None
        for attempt in range(1, attempts + 1):
            try:
                conn, reused = self.pool.acquire()
            except TimeoutError as exc:
                raise UpstreamTimeout(
                    "the upstream application did not accept the connection in time"
                ) from exc
            except OSError as exc:
                if attempt < attempts:
                    continue
                raise UpstreamUnreachable(
                    "the upstream application refused the connection"
                    if isinstance(exc, ConnectionRefusedError)
                    else "the upstream application could not be reached"
                ) from exc
            try:
                conn.send(head_bytes)
                if request.body is not None:
                    _send_body(conn, request.body, chunked=chunked)
                head = _read_final_head(conn, request.method)
            except BadRequestBody:
                conn.close()
                raise
            except TimeoutError as exc:
                conn.close()
                raise UpstreamTimeout("the upstream application did not answer in time") from exc
            except (ClosedBeforeAnswer, *_DROPPED) as exc:
                conn.close()
                # A kept-alive connection the upstream closed just as we used it:
                # the request was never processed. Safe to repeat only if it is
                # idempotent and has no body of the client's that we consumed.
                if reused and request.body is None and request.idempotent:
                    continue
                raise UpstreamUnavailable("the upstream application closed the connection") from exc
            except SwitchedProtocols as exc:
                conn.close()
                raise UpstreamUnavailable(
                    "the upstream application switched protocols, which cannot be forwarded here"
                ) from exc
            except (OSError, InvalidResponse, ValueError) as exc:
                conn.close()
                raise UpstreamUnavailable(
                    "the upstream application sent an invalid response"
                ) from exc
            return self._stream(conn, head, request)
        # Every attempt met a kept-alive connection the upstream had just closed.
        raise UpstreamUnavailable("the upstream application closed the connection")

    def _stream(
        self, conn: UpstreamConnection, head: ResponseHead, request: UpstreamRequest
    ) -> UpstreamResponse:
        state = {"done": False, "complete": False}

        def close() -> None:
            if state["done"]:
                return
            state["done"] = True
            # Read to its framed end: hand the connection back. Stopped early
            # (client went away, upstream failed) or framed by close: the
            # connection cannot carry another request.
            if state["complete"] and head.keep_alive:
                self.pool.release(conn)
            else:
                conn.close()

        def body() -> Iterator[bytes]:
            try:
                yield from _read_body(conn, head, self.chunk_size)
            except (OSError, InvalidResponse) as exc:
                logger.error(
                    "upstream %s failed mid-response for %s %s: %r",
                    self.upstream,
                    request.method,
                    request.path,
                    exc,
                )
                state["done"] = True
                conn.close()
                raise UpstreamStreamError(str(exc)) from exc
            state["complete"] = True
            close()

        return UpstreamResponse(
            status=head.status,
            reason=head.reason,
            headers=client_framing(head),
            body=body(),
            close=close,
        )


class SwitchedProtocols(Exception):
    """The upstream answered 101: a WSGI server cannot carry the new protocol."""


def _read_final_head(conn: UpstreamConnection, method: str) -> ResponseHead:
    """The final response head, interim 1xx responses read and dropped (RFC 9110 §15.2)."""
    for _ in range(MAX_INTERIM_RESPONSES):
        head = parse_response_head(conn.read_head(), request_method=method)
        if head.status == 101:
            raise SwitchedProtocols()
        if not head.interim:
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
        while size := parse_chunk_size(conn.read_line()):
            while size:
                data = conn.read_some(min(chunk_size, size))
                if not data:
                    raise InvalidResponse("connection closed inside a chunk")
                size -= len(data)
                yield data
            if conn.read_exactly(2) != b"\r\n":
                raise InvalidResponse("chunk not followed by CRLF")
        # Trailers are not forwarded (a WSGI server cannot send them); read past them.
        for _ in range(_MAX_TRAILERS):
            line = conn.read_line()
            if line == b"\r\n":
                return
            if not line.endswith(b"\r\n"):
                raise InvalidResponse("invalid trailer line")
        raise InvalidResponse("too many trailer lines")
    elif head.framing == "close":
        while data := conn.read_some(chunk_size):
            yield data


def client_framing(head: ResponseHead) -> Headers:
    """The answer's headers for the client: one Content-Length, as validated.

    Shared with the async transport (``async_http.py``).
    """
    # Duplicates were checked equal by parse_response_head.
    if head.framing != "length":
        return head.headers
    headers: Headers = []
    seen = False
    for name, value in head.headers:
        if name.lower() == "content-length":
            if seen:
                continue
            seen, value = True, str(head.length)
        headers.append((name, value))
    return headers


def _send_body(conn: UpstreamConnection, body: Iterable[bytes], *, chunked: bool) -> None:
    for chunk in body:
        if not chunk:
            continue  # an empty chunk would end a chunked body early
        if chunked:
            conn.send(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            conn.send(chunk)
    if chunked:
        conn.send(b"0\r\n\r\n")
