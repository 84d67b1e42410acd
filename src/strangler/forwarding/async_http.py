"""The async HTTP transport for the ASGI entry path, on aiohttp.

Chosen by measurement (``benchmarks/async_clients.py``, docs/asgi.md): over
one keep-alive connection to a local Flask, aiohttp and a small client of
our own on h11 cost about the same loop CPU per small request (180 and
162 us) while httpx.AsyncClient costs five times that (about 930 us); and
aiohttp streams a large body twice as fast as h11 (about 2.0-2.8 GB/s
against 1.1-1.4 GB/s), because its parser is C and h11's chunked decoding
copies in Python. Streaming speed decides a 1 GiB download; the CPU
difference is within noise.

aiohttp is told to be a proxy's client: no cookie jar, no decompression,
no redirects, no default headers, the request target sent as given
(``encoded=True``), and no automatic retry (it would repeat an idempotent
request on a fresh connection the upstream dropped, which may have been
processed: the one rule here is that a request is sent once, and again
only when the connection could not be made). Framing is aiohttp's parser
(llhttp): a body shorter than its ``Content-Length``, a bad chunk, or both
``Content-Length`` and ``Transfer-Encoding`` are errors, never a complete
looking answer. A connection goes back to the pool only when its response
was read to the end; :meth:`AsyncUpstreamResponse.aclose` before that
closes it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .errors import ForwardingError, UpstreamStreamError, UpstreamTimeout, UpstreamUnavailable
from .headers import Headers
from .messages import UpstreamRequest
from .upstream import HttpUpstream

logger = logging.getLogger("strangler.forwarding")

# Response header lines up to http.client's own limit (aiohttp's default is 8 KiB,
# which a large Set-Cookie or CSP header can exceed).
_MAX_LINE = 65536


@dataclass
class AsyncUpstreamResponse:
    """The upstream's answer: head read, body still to stream."""

    status: int
    reason: str
    headers: Headers
    body: AsyncIterator[bytes]
    # Releases the connection (to the pool only if the body was read to its end).
    aclose: Callable[[], Awaitable[None]]


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
    ) -> None:
        self.upstream = upstream
        self.pool_size = pool_size
        self.retries = retries
        self.chunk_size = chunk_size
        self.preserve_host = preserve_host
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._tls = ssl.create_default_context() if upstream.scheme == "https" else None
        # A session belongs to the loop it was made in; uvicorn has one per process.
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session(self) -> aiohttp.ClientSession:
        """This loop's session (a keep-alive pool to the upstream), made on first use."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=0,  # no cap on concurrent requests, as the sync transport
                limit_per_host=0,
                ssl=self._tls if self._tls is not None else False,
                keepalive_timeout=15.0,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                timeout=self.timeout,
                requote_redirect_url=False,
                read_bufsize=self.chunk_size,
                max_line_size=_MAX_LINE,
                max_field_size=_MAX_LINE,
            )
            # Exactly one upstream request per client request: aiohttp would
            # otherwise resend an idempotent request after a disconnect that
            # may have come after the upstream processed it.
            session._retry_connection = False
            self._sessions[loop] = session
        return session

    async def aclose(self) -> None:
        """Close this loop's session and its pooled connections."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def close(self) -> None:
        """Forget every session (settings changed); their connections close with their loop."""
        sessions, self._sessions = self._sessions, {}
        for loop, session in sessions.items():
            if loop.is_running():
                asyncio.run_coroutine_threadsafe(session.close(), loop)

    def url(self, target: str) -> URL:
        """The upstream URL for the core's target (base path included), not re-encoded."""
        return URL(self.upstream.origin + target, encoded=True)

    def host_header(self, request: UpstreamRequest) -> str:
        """The Host sent upstream: the upstream's, or the client's with PRESERVE_HOST."""
        return request.host if self.preserve_host and request.host else self.upstream.netloc

    async def send(
        self, request: UpstreamRequest, body: AsyncIterable[bytes] | None
    ) -> AsyncUpstreamResponse:
        """Send the request; return once the upstream's head has arrived.

        ``body`` streams the client's body; ``request.content_length`` frames
        it (``None`` with a body: chunked).
        """
        headers = [("Host", self.host_header(request)), *request.headers]
        if body is not None and request.content_length is not None:
            headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
            headers.append(("Content-Length", str(request.content_length)))
        # A body without a length: aiohttp frames a stream as chunked itself.
        attempts = 1 + max(self.retries, 0) if request.idempotent else 1
        sendable = aiohttp_headers(headers)
        url = self.url(request.target)
        session = self.session()
        for attempt in range(1, attempts + 1):
            try:
                response = await session.request(
                    request.method,
                    url,
                    headers=sendable,
                    data=body,
                    allow_redirects=False,
                    compress=None,
                    chunked=None,
                )
            except aiohttp.ClientConnectorError as exc:
                # Nothing was sent: the one failure a request may be repeated after.
                if attempt < attempts and not isinstance(exc, aiohttp.ClientSSLError):
                    continue
                raise UpstreamUnavailable(
                    "the upstream application refused the connection"
                    if isinstance(exc.os_error, ConnectionRefusedError)
                    else "the upstream application could not be reached"
                ) from exc
            except aiohttp.ConnectionTimeoutError as exc:
                raise UpstreamTimeout(
                    "the upstream application did not accept the connection in time"
                ) from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise UpstreamTimeout("the upstream application did not answer in time") from exc
            except aiohttp.ServerDisconnectedError as exc:
                raise UpstreamUnavailable("the upstream application closed the connection") from exc
            except (aiohttp.ClientError, ValueError) as exc:
                raise UpstreamUnavailable(
                    "the upstream application sent an invalid response"
                ) from exc
            if response.status == 101:
                # Switching protocols without having asked: the connection is
                # no longer HTTP, so it can be neither used nor pooled.
                response.close()
                raise UpstreamUnavailable("the upstream application sent an invalid response")
            return self._stream(response, request)
        raise UpstreamUnavailable("the upstream application could not be reached")

    def _stream(
        self, response: aiohttp.ClientResponse, request: UpstreamRequest
    ) -> AsyncUpstreamResponse:
        state = {"complete": False, "closed": False}

        async def aclose() -> None:
            if state["closed"]:
                return
            state["closed"] = True
            if state["complete"]:
                response.release()  # read to its framed end: back to the pool
            else:
                response.close()  # unread bytes on the wire: never reused

        async def body() -> AsyncIterator[bytes]:
            content = response.content
            try:
                while True:
                    chunk = await content.readany()
                    if not chunk:
                        break
                    yield chunk
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                logger.error(
                    "upstream %s failed mid-response for %s %s: %r",
                    self.upstream,
                    request.method,
                    request.path,
                    exc,
                )
                await aclose()
                raise UpstreamStreamError(str(exc)) from exc
            state["complete"] = True
            await aclose()

        return AsyncUpstreamResponse(
            status=response.status,
            reason=response.reason or "",
            headers=[
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in response.raw_headers
            ],
            body=body(),
            aclose=aclose,
        )


class UnsendableHeader(ForwardingError):
    """A request header whose bytes aiohttp cannot send unchanged (not UTF-8)."""

    status = 400
    code = "bad_request_header"


def aiohttp_headers(headers: Headers) -> CIMultiDict[str]:
    """Headers as aiohttp takes them, repeated names and order kept, bytes unchanged.

    Header values travel as ``str`` holding the bytes as ISO-8859-1 (WSGI's
    and ASGI's convention), but aiohttp writes every value as UTF-8: a
    non-ASCII value is handed over as the text its bytes spell in UTF-8, so
    the same bytes go out. Bytes that are not UTF-8 cannot be written by
    aiohttp at all; rather than send other bytes than the client's, the
    request is refused with 400 naming the header.
    """
    sendable: list[tuple[str, str]] = []
    for name, value in headers:
        if not value.isascii():
            try:
                value = value.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                raise UnsendableHeader(
                    f"the {name} header is neither ASCII nor UTF-8; this front (ASGI) "
                    "cannot forward it unchanged"
                ) from None
        sendable.append((name, value))
    return CIMultiDict(sendable)
