"""The HTTP transport: pooled keep-alive connections, streamed both ways.

Built directly on the standard library's ``http.client``, the layer urllib3
and requests themselves sit on. Measured on the forwarding path
(``benchmarks/clients.py``, see docs/benchmarks.md), it costs the least
client CPU per request of http.client, urllib3 and httpx (about 155, 235
and 700 us; streaming speed was within noise between the first two), and
that CPU is taken from Django under the same GIL. What urllib3 adds on top
(redirects, retries, content decoding, re-encoding the request target:
``%2f`` becomes ``%2F``) is what a proxy has to switch off. What is ours is
small: a pool of idle connections, the retry rule (only idempotent
requests, only when nothing reached the upstream), and the mapping of
failures to 502/504.
"""

from __future__ import annotations

import http.client
import logging
import re
import select
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterable, Iterator

from .errors import BadRequestBody, UpstreamStreamError, UpstreamTimeout, UpstreamUnavailable
from .headers import Headers
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
# A header value continued on the next line (obs-fold): a proxy must replace
# the line break with a space before passing the header on (RFC 9112 §5.2).
_OBS_FOLD = re.compile(r"\r?\n[ \t]+")


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
    ) -> None:
        self.upstream = upstream
        self.maxsize = maxsize
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: deque[http.client.HTTPConnection] = deque()
        self._opened = 0
        self._count_lock = threading.Lock()
        self._tls = ssl.create_default_context() if upstream.scheme == "https" else None

    @property
    def opened(self) -> int:
        """How many connections this pool has opened (for tests and stats)."""
        return self._opened

    @property
    def idle(self) -> int:
        """How many connections are waiting in the pool."""
        return len(self._idle)

    def acquire(self) -> tuple[http.client.HTTPConnection, bool]:
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

    def release(self, conn: http.client.HTTPConnection) -> None:
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

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.upstream.host, self.upstream.port
        conn: http.client.HTTPConnection
        if self._tls is not None:
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=self._tls
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        # Connect now so that a failure here is known to have sent nothing:
        # that is the one failure an idempotent request may be retried after.
        conn.connect()
        conn.timeout = self.read_timeout
        if conn.sock is not None:
            conn.sock.settimeout(self.read_timeout)
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        )

    def close(self) -> None:
        """Close the idle pooled connections (in-flight ones close as they finish)."""
        self.pool.clear()

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send the request and return once the upstream's headers have arrived."""
        attempts = 1 + max(self.retries, 0) if request.idempotent else 1
        host = request.host if self.preserve_host and request.host else self.upstream.netloc
        target = request.target
        chunked = request.body is not None and request.content_length is None
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
                raise UpstreamUnavailable(
                    "the upstream application refused the connection"
                    if isinstance(exc, ConnectionRefusedError)
                    else "the upstream application could not be reached"
                ) from exc
            try:
                conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", host)
                for name, value in request.headers:
                    conn.putheader(name, value)
                if chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                if request.body is not None:
                    _send_body(conn, request.body, chunked=chunked)
                response = conn.getresponse()
            except BadRequestBody:
                conn.close()
                raise
            except TimeoutError as exc:
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
            except (OSError, http.client.HTTPException, ValueError) as exc:
                conn.close()
                raise UpstreamUnavailable(
                    "the upstream application sent an invalid response"
                ) from exc
            return self._stream(conn, response, request)
        # Every attempt met a kept-alive connection the upstream had just closed.
        raise UpstreamUnavailable("the upstream application closed the connection")

    def _stream(
        self,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        request: UpstreamRequest,
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
                if response.length:
                    # read1() reports an early EOF as the end of the body; a
                    # Content-Length body cut short must not look complete.
                    raise http.client.IncompleteRead(b"", response.length)
                # read1() never marks a Content-Length body finished; read()
                # does (it has nothing left to return), so the connection can
                # go back to the pool.
                response.read()
            except (OSError, http.client.HTTPException, ValueError) as exc:
                logger.error(
                    "upstream %s failed mid-response for %s %s: %r",
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
            headers=_response_headers(response.msg.items()),
            body=body(),
            close=close,
        )


def _send_body(conn: http.client.HTTPConnection, body: Iterable[bytes], *, chunked: bool) -> None:
    for chunk in body:
        if not chunk:
            continue  # an empty chunk would end a chunked body early
        if chunked:
            conn.send(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            conn.send(chunk)
    if chunked:
        conn.send(b"0\r\n\r\n")


def _response_headers(items: list[tuple[str, str]]) -> Headers:
    return [(name, _OBS_FOLD.sub(" ", value) if "\n" in value else value) for name, value in items]
