"""The HTTP transport: pooled keep-alive connections, streamed both ways.

Built on urllib3's connection and response classes (TLS, chunked uploads,
incremental reads, header parsing), with a small pool of our own instead of
``HTTPConnectionPool.urlopen``: ``urlopen`` re-encodes the request target
(``%2f`` becomes ``%2F``, ``|`` becomes ``%7C``), and a proxy must pass it
through byte for byte. Owning the pool also lets the retry rule be exact:
only idempotent requests, only when nothing reached the upstream.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections import deque
from collections.abc import Iterator

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import HTTPResponse
from urllib3.util import SKIP_HEADER

from .errors import BadRequestBody, UpstreamStreamError, UpstreamTimeout, UpstreamUnavailable
from .messages import UpstreamRequest, UpstreamResponse
from .upstream import HttpUpstream

logger = logging.getLogger("strangler.forwarding")

# Errors that mean the connection broke before any response arrived.
_DROPPED = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


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
        chunk_size: int,
    ) -> None:
        self.upstream = upstream
        self.maxsize = maxsize
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.chunk_size = chunk_size
        self._idle: deque[HTTPConnection] = deque()
        self._opened = 0
        self._count_lock = threading.Lock()

    @property
    def opened(self) -> int:
        """How many connections this pool has opened (for tests and stats)."""
        return self._opened

    @property
    def idle(self) -> int:
        """How many connections are waiting in the pool."""
        return len(self._idle)

    def acquire(self) -> tuple[HTTPConnection, bool]:
        """An open connection and whether it was reused from the pool."""
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return self._connect(), False
            # An idle socket that is readable was closed (or garbled) by the
            # upstream while it waited; using it would fail mid-request.
            if conn.is_connected:
                return conn, True
            conn.close()

    def release(self, conn: HTTPConnection) -> None:
        """Return a connection whose response was fully read."""
        if conn.sock is not None and len(self._idle) < self.maxsize:
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

    def _connect(self) -> HTTPConnection:
        cls = HTTPSConnection if self.upstream.scheme == "https" else HTTPConnection
        conn = cls(
            self.upstream.host,
            self.upstream.port,
            timeout=self.connect_timeout,
            blocksize=self.chunk_size,
        )
        # Connect now so that a failure here is known to have sent nothing:
        # that is the one failure an idempotent request may be retried after.
        conn.connect()
        conn.timeout = self.read_timeout
        if conn.sock is not None:
            conn.sock.settimeout(self.read_timeout)
        with self._count_lock:
            self._opened += 1
        return conn


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
    ) -> None:
        self.upstream = upstream
        self.retries = retries
        self.chunk_size = chunk_size
        self.preserve_host = preserve_host
        self.pool = ConnectionPool(
            upstream,
            maxsize=pool_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            chunk_size=chunk_size,
        )

    def close(self) -> None:
        """Close the idle pooled connections (in-flight ones close as they finish)."""
        self.pool.clear()

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send the request and return once the upstream's headers have arrived."""
        attempts = 1 + max(self.retries, 0) if request.idempotent else 1
        headers = self._headers(request)
        target = self.upstream.base_path + request.target
        for attempt in range(1, attempts + 1):
            try:
                conn, reused = self.pool.acquire()
            except NewConnectionError as exc:
                if attempt < attempts:
                    continue
                raise UpstreamUnavailable(
                    "the upstream application refused the connection"
                ) from exc
            except (ConnectTimeoutError, TimeoutError) as exc:
                raise UpstreamTimeout(
                    "the upstream application did not accept the connection in time"
                ) from exc
            except (OSError, HTTPError) as exc:
                raise UpstreamUnavailable("the upstream application could not be reached") from exc
            try:
                conn.request(
                    request.method,
                    target,
                    body=request.body,
                    headers=headers,
                    chunked=request.body is not None and request.content_length is None,
                    preload_content=False,
                    decode_content=False,
                    enforce_content_length=True,
                )
                response = conn.getresponse()
            except BadRequestBody:
                conn.close()
                raise
            except (TimeoutError, ReadTimeoutError) as exc:
                conn.close()
                raise UpstreamTimeout("the upstream application did not answer in time") from exc
            except _DROPPED as exc:
                conn.close()
                # A kept-alive connection the upstream closed just as we used it:
                # the request was never processed. Safe to repeat only if it is
                # idempotent and has no body of the client's that we consumed.
                if reused and request.body is None and request.idempotent:
                    continue
                raise UpstreamUnavailable("the upstream application closed the connection") from exc
            except (OSError, HTTPError, http.client.HTTPException) as exc:
                conn.close()
                raise UpstreamUnavailable(
                    "the upstream application sent an invalid response"
                ) from exc
            return self._stream(conn, response, request)
        # Every attempt met a kept-alive connection the upstream had just closed.
        raise UpstreamUnavailable("the upstream application closed the connection")

    def _headers(self, request: UpstreamRequest) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in request.headers:
            # WSGI already joined repeated request headers with ", ".
            headers[name] = value
        if self.preserve_host and request.host:
            headers["Host"] = request.host
        else:
            headers["Host"] = self.upstream.netloc
        # urllib3 and http.client add their own defaults for these when absent;
        # a proxy must not invent headers the client never sent.
        headers.setdefault("User-Agent", SKIP_HEADER)
        headers.setdefault("Accept-Encoding", SKIP_HEADER)
        return headers

    def _stream(
        self, conn: HTTPConnection, response: HTTPResponse, request: UpstreamRequest
    ) -> UpstreamResponse:
        state = {"done": False, "complete": False}

        def close() -> None:
            if state["done"]:
                return
            state["done"] = True
            # Read to the end: hand the connection back. Stopped early (client
            # went away, upstream failed): the rest of the body is still on
            # the wire, so the connection cannot be reused.
            if state["complete"] and response.isclosed():
                self.pool.release(conn)
            else:
                response.close()
                conn.close()

        def body() -> Iterator[bytes]:
            try:
                if request.method == "HEAD":
                    # http.client only marks a HEAD response finished on read().
                    response.read()
                while chunk := response.read1(self.chunk_size):
                    yield chunk
            except (ProtocolError, ReadTimeoutError, OSError, HTTPError) as exc:
                logger.error(
                    "upstream %s failed mid-response for %s %s: %s",
                    self.upstream,
                    request.method,
                    request.path,
                    exc,
                )
                close()
                raise UpstreamStreamError(str(exc)) from exc
            state["complete"] = True
            close()

        return UpstreamResponse(
            status=response.status,
            reason=response.reason or "",
            headers=list(response.headers.items()),
            body=body(),
            close=close,
        )
