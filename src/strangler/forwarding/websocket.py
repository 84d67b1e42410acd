"""WebSockets under ASGI: Flask's are forwarded both ways, Django's go to the user's app.

A WebSocket handshake is a GET and is decided like one: by the same rules,
with the same ``Host`` check, the same cleaned headers and the same identity
token (minted for ``GET path``) as an HTTP request to that path. One check
is added, because a browser sends cookies with a cross-site WebSocket
handshake and no CORS rule stops it (cross-site WebSocket hijacking): a
handshake whose ``Origin`` is neither the host it was sent to, one of
``ALLOWED_HOSTS``, nor in ``CSRF_TRUSTED_ORIGINS`` is refused with 403, the
same origins Django's CSRF protection accepts for a form post.

The upstream side is aiohttp's RFC 6455 client (the library the HTTP
transport already uses; no framing is written here). Messages pass through
as they are, text as text and binary as binary; the close code (and reason)
of either side is passed to the other, and either side going away closes the
other. Under the in-process (``wsgi:``) upstream there is no socket for a
WebSocket to run on, so handshakes to Flask are refused with 502.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

try:
    import aiohttp
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "forwarding WebSockets to Flask needs aiohttp: pip install 'django-strangler[asgi]'"
    ) from exc
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http.request import split_domain_port, validate_host
from multidict import CIMultiDict
from yarl import URL

from .async_http import AsyncHttpTransport
from .errors import ForwardingError
from .headers import Headers
from .paths import AmbiguousPath

if TYPE_CHECKING:
    from ..asgi import Receive, Scope, Send, StranglerASGIHandler

logger = logging.getLogger("strangler.forwarding")

# Negotiated per hop: the upstream client makes its own key and extensions.
_HANDSHAKE_HEADERS = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
    }
)
# Close codes that may not be sent in a close frame (RFC 6455 §7.4.1): they only
# say that none was received. The other side is told "going away" instead.
_UNSENDABLE = frozenset({1005, 1006, 1015})
GOING_AWAY = 1001


# One aiohttp session (its connection pool) per event loop; uvicorn has one per process.
_sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def client_session() -> aiohttp.ClientSession:
    """This loop's aiohttp session for WebSocket handshakes, made on first use.

    Told to be a proxy's client: no cookie jar, no default headers.
    """
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = _sessions[loop] = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
        )
    return session


async def close_sessions() -> None:
    """Close this loop's session (at the ASGI server's shutdown)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


class UnsendableHeader(ForwardingError):
    """A handshake header whose bytes aiohttp cannot send unchanged (not UTF-8)."""

    status = 400
    code = "bad_request_header"


def aiohttp_headers(headers: Headers) -> CIMultiDict[str]:
    """Headers as aiohttp takes them, repeated names and order kept, bytes unchanged.

    Header values travel as ``str`` holding the bytes as ISO-8859-1 (WSGI's
    and ASGI's convention), but aiohttp writes every value as UTF-8: a
    non-ASCII value is handed over as the text its bytes spell in UTF-8, so
    the same bytes go out. Bytes that are not UTF-8 cannot be written by
    aiohttp at all; rather than send other bytes than the client's, the
    handshake is refused with 400 naming the header.
    """
    sendable: list[tuple[str, str]] = []
    for name, value in headers:
        if not value.isascii():
            try:
                value = value.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                raise UnsendableHeader(
                    f"the {name} header is neither ASCII nor UTF-8; a WebSocket handshake "
                    "cannot forward it unchanged"
                ) from None
        sendable.append((name, value))
    return CIMultiDict(sendable)


def origin_allowed(origin: str | None, host: str) -> bool:
    """May a handshake with this ``Origin`` be accepted by the front at ``host``?

    No ``Origin`` (not a browser) is allowed, as a form post without one is
    by Django's CSRF check when it is not over HTTPS. A browser's ``Origin``
    must name the host the request went to, an allowed host, or a trusted
    origin.
    """
    if origin is None:
        return True
    if origin in getattr(settings, "CSRF_TRUSTED_ORIGINS", []):
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if parts.netloc.lower() == host.lower():
        return True
    domain, _ = split_domain_port(parts.netloc)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


async def forward_websocket(
    handler: StranglerASGIHandler, scope: Scope, receive: Receive, send: Send
) -> None:
    """Decide who answers a WebSocket and connect it to them."""
    from ..asgi import get_async_transport, head_request, prepare, refresh_switches
    from ..routing import decide_request
    from .core import get_transport

    # Read as the GET it is, over http(s), so every rule sees what it sees for HTTP.
    secure = scope.get("scheme") == "wss"
    request = head_request({**scope, "method": "GET", "scheme": "https" if secure else "http"})
    await refresh_switches()
    try:
        owner = decide_request(request).owner
    except AmbiguousPath as error:
        await deny(scope, receive, send, error.status, error.reason)
        return
    if owner != "flask":
        if handler.websocket_app is None:
            await deny(scope, receive, send, 403, "no ASGI app answers Django's WebSockets")
            return
        await handler.websocket_app(scope, receive, send)
        return
    try:
        host = request.get_host()
    except DisallowedHost:
        await deny(scope, receive, send, 400, "invalid Host header")
        return
    origin = request.headers.get("Origin")
    if not origin_allowed(origin, host):
        logger.warning("WebSocket to %s refused: Origin %r is not allowed", request.path, origin)
        await deny(scope, receive, send, 403, "cross-origin WebSocket refused")
        return
    transport = get_async_transport()
    if not isinstance(transport, AsyncHttpTransport):
        await deny(scope, receive, send, 502, "WebSockets need an HTTP upstream")
        return
    # The core's one signed request: the same target, headers and identity as HTTP.
    upstream_request = await prepare(request, host, get_transport())
    headers = [
        ("Host", transport.host_header(upstream_request)),
        *(
            (name, value)
            for name, value in upstream_request.headers
            if name.lower() not in _HANDSHAKE_HEADERS
        ),
    ]
    scheme = "wss" if transport.upstream.scheme == "https" else "ws"
    url = URL(f"{scheme}://{transport.upstream.netloc}{upstream_request.target}", encoded=True)
    try:
        sendable = aiohttp_headers(headers)
    except UnsendableHeader as error:
        await deny(scope, receive, send, error.status, error.reason)
        return
    try:
        upstream = await client_session().ws_connect(
            url,
            headers=sendable,
            protocols=list(scope.get("subprotocols") or ()),
            autoclose=False,
            autoping=True,
            max_msg_size=0,
            compress=0,
            # wss:// is verified like the HTTP transport (UPSTREAM_CA_BUNDLE).
            ssl=transport.tls if transport.tls is not None else True,
        )
    except aiohttp.WSServerHandshakeError as exc:
        status = exc.status if 400 <= exc.status < 600 else 502
        await deny(scope, receive, send, status, "the upstream application refused the WebSocket")
        return
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        logger.error(
            "WebSocket to %s: upstream %s failed: %r", request.path, transport.upstream, exc
        )
        await deny(scope, receive, send, 502, "the upstream application could not be reached")
        return
    try:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.protocol})
        await relay(upstream, receive, send)
    finally:
        await upstream.close()


async def relay(
    upstream: aiohttp.ClientWebSocketResponse[Any], receive: Receive, send: Send
) -> None:
    """Pass messages both ways until either side closes; then close the other."""

    async def client_to_upstream() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code") or 1000
                reason = (message.get("reason") or "").encode()
                await upstream.close(
                    code=GOING_AWAY if code in _UNSENDABLE else code, message=reason
                )
                return
            if message["type"] != "websocket.receive":
                continue
            if message.get("text") is not None:
                await upstream.send_str(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send_bytes(message["bytes"])

    async def upstream_to_client() -> None:
        while True:
            frame = await upstream.receive()
            if frame.type is aiohttp.WSMsgType.TEXT:
                await send({"type": "websocket.send", "text": frame.data})
            elif frame.type is aiohttp.WSMsgType.BINARY:
                await send({"type": "websocket.send", "bytes": frame.data})
            elif frame.type is aiohttp.WSMsgType.CLOSING:
                return  # our own close, for the client that left, is under way
            elif frame.type is aiohttp.WSMsgType.CLOSE:
                # Flask closed: answer its close frame, then close the client's
                # side with the same code and reason.
                code = frame.data if frame.data and frame.data not in _UNSENDABLE else 1000
                await upstream.close(code=code)
                await send({"type": "websocket.close", "code": code, "reason": frame.extra or ""})
                return
            elif frame.type not in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                # CLOSED or ERROR: the upstream connection is gone without a close frame.
                await send({"type": "websocket.close", "code": GOING_AWAY})
                return

    tasks = {
        asyncio.ensure_future(client_to_upstream()),
        asyncio.ensure_future(upstream_to_client()),
    }
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()


async def deny(scope: Scope, receive: Receive, send: Send, status: int, reason: str) -> None:
    """Refuse a handshake: with ``status`` where the server can send an HTTP answer, else 403."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = f"{reason}\n".encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008 if status == 403 else 1011})
