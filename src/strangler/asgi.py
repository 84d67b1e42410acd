"""The ASGI front door: forwarded requests stream through an async transport.

Use it in the project's ``asgi.py`` instead of Django's own::

    from strangler.asgi import get_asgi_application

    application = get_asgi_application()

Every request is decided by the same rules as under WSGI. Requests Django
answers go to Django's own ASGI handler untouched. Forwarded ones never
enter Django's request cycle: the upstream request is built by the same
forwarding core as the WSGI paths (headers, target, framing, identity), sent
by an async transport (asyncio, speaking HTTP/1.1 by the core's own
rules, or the in-process WSGI app in a bounded thread pool), and the answer
is streamed back piece by piece as it arrives, in both directions, so a
1 GiB body passes with flat memory and a server-sent event reaches the
client when Flask yields it.

WebSockets are decided the same way: Flask's are forwarded to the upstream
(``strangler.forwarding.websocket``); Django's go to the ASGI app given as
``websocket_app`` (Channels' router, or any ASGI app), and are refused
without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from time import perf_counter
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.signals import request_finished, request_started
from django.http import HttpResponseBase

from .conf import conf_cache, get_conf
from .forwarding.async_http import AsyncHttpTransport, AsyncUpstreamResponse
from .forwarding.async_wsgi import AsyncWsgiTransport
from .forwarding.core import client_headers, get_transport, log_failure, prepare_request
from .forwarding.errors import BadRequestBody, ForwardingError, UpstreamStreamError
from .forwarding.health import get_upstream_health, waiting_on
from .forwarding.messages import UpstreamRequest
from .forwarding.paths import AmbiguousPath
from .forwarding.response import error_response
from .forwarding.signing import get_signer
from .forwarding.transport import Transport
from .forwarding.upstream import parse_upstream
from .routing import decide_request
from .shadow.record import record, wants_recording
from .switches import switch_table
from .traffic import record_request

logger = logging.getLogger("strangler.forwarding")

# The ASGI callables, typed as Django's own ASGIHandler types them.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
AsyncTransport = AsyncHttpTransport | AsyncWsgiTransport


@conf_cache
def get_async_transport() -> AsyncTransport:
    """The async transport for ``STRANGLER["UPSTREAM"]``, built once per process.

    Opened by the parsed upstream, like the core's blocking transport
    (``forwarding.core.get_transport``), with the same options.
    """
    conf = get_conf()
    return parse_upstream(conf["UPSTREAM"]).open_async_transport(conf)


class StranglerASGIHandler:
    """Forward Flask's requests with an async transport; hand the rest to Django."""

    def __init__(self, django_app: ASGIApp, websocket_app: ASGIApp | None = None) -> None:
        self.django_app = django_app
        self.websocket_app = websocket_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.handle_http(scope, receive, send)
        elif kind == "websocket":
            from .forwarding.websocket import forward_websocket

            await forward_websocket(self, scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        else:
            raise ValueError(f"strangler.asgi cannot handle ASGI scope type {kind!r}")

    async def handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Decide who answers one HTTP request and let it answer."""
        request = head_request(scope)
        await refresh_switches()
        try:
            decision = decide_request(request)
        except AmbiguousPath as error:
            # A path Django and Flask could read differently: 400, never forwarded.
            await send_django_response(error_response(request, error), send)
            return
        if decision.owner != "flask":
            # Django's handler builds its own request from the scope, where no
            # decision can travel: StranglerMiddleware decides again (the same
            # rules, the same sticky canary key) and counts the request.
            await self.django_app(scope, receive, send)
            return
        try:
            host = request.get_host()
        except DisallowedHost:
            # Django's own 400 and security log line, as under WSGI: the
            # middleware decides "flask" again and Django refuses the host.
            await self.django_app(scope, receive, send)
            return
        started = perf_counter()
        status = await forward_http(request, host, receive, send)
        record_request(decision, request.method, status, started)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Start up at once; on shutdown, close the upstream connections."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                transport = get_async_transport()
                if isinstance(transport, AsyncHttpTransport):
                    await transport.aclose()
                if "strangler.forwarding.websocket" in sys.modules:
                    from .forwarding.websocket import close_sessions

                    await close_sessions()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def refresh_switches() -> None:
    """Refresh the switch table off the event loop when it is due.

    ``decide_request`` reads the switches, which are re-read from the cache
    (or the database) every ``SWITCH_TTL`` seconds: that read runs in
    Django's sync thread, so deciding on the loop never does I/O.
    """
    table = switch_table()
    if table.due():
        await sync_to_async(table.get)()


def head_request(scope: Scope) -> ASGIRequest:
    """Django's request for the scope's head, without touching the body.

    What the routing rules and the forwarding core read (path, headers,
    host, scheme) is all in the scope; the body stays with the ASGI server
    until the transport streams it.
    """
    request = ASGIRequest(scope, io.BytesIO())
    raw_path = scope.get("raw_path")
    if isinstance(raw_path, bytes):
        # The target as the client sent it, for the core to pass on byte for
        # byte (as gunicorn's RAW_URI); the core checks it matches the path.
        query = scope.get("query_string", b"")
        raw = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        request.META["RAW_URI"] = raw
    request.META["wsgi.input_terminated"] = True  # the ASGI server de-chunks
    request.META["wsgi.input"] = io.BytesIO()
    return request


async def forward_http(request: ASGIRequest, host: str, receive: Receive, send: Send) -> int:
    """Forward one request through the core and stream the answer both ways; return its status.

    Failures before the answer's head become the core's short 502/504/4xx
    answers, logged by the core's one log line.
    """
    transport = get_transport()
    async_transport = get_async_transport()
    try:
        upstream_request = await prepare(request, host, transport)
        body = None
        if upstream_request.body is not None:
            # The body comes from the ASGI server, not wsgi.input; its first
            # piece is received before the upstream is contacted, as on the
            # WSGI paths, so a client that never sends it costs Flask nothing.
            body = await read_ahead(client_body(receive, get_conf()["CLIENT_BODY_TIMEOUT"]))
        upstream_request.body = None
        with waiting_on(get_upstream_health()):  # fail fast, as the core does
            upstream = await async_transport.send(upstream_request, body)
    except ForwardingError as error:
        log_failure(request, transport, error)
        await send_django_response(error_response(request, error), send)
        return error.status
    headers = client_headers(request, upstream.headers, host=host, transport=transport)
    await stream_answer(upstream, headers, receive, send)
    return upstream.status


async def prepare(request: ASGIRequest, host: str, transport: Transport) -> UpstreamRequest:
    """The core's one signed upstream request for ``request``, recorded when sampled.

    When Django code runs (the signer reads the session and the user to
    mint an identity token, or the request is recorded for
    ``strangler_replay``), it runs in Django's sync thread with the request
    signals around it, as Django's own handler runs a view and as the WSGI
    fast path does; otherwise in the loop, where it is pure and quick.
    """
    recording = wants_recording(request)
    if not (recording or get_signer().runs_django_code(request)):
        return prepare_request(request, host=host, transport=transport)

    def prepare_with_signals() -> UpstreamRequest:
        request_started.send(sender=StranglerASGIHandler, environ=request.META)
        try:
            if recording:
                record(request)  # reads the user once; the signer reuses it
            return prepare_request(request, host=host, transport=transport)
        finally:
            request_finished.send(sender=StranglerASGIHandler)

    return await sync_to_async(prepare_with_signals)()


async def client_body(receive: Receive, timeout: float | None) -> AsyncIterator[bytes]:
    """The client's request body, piece by piece as the ASGI server receives it.

    A client that sends nothing for ``timeout`` seconds (``CLIENT_BODY_TIMEOUT``)
    gets a 408, as on the WSGI paths.
    """
    while True:
        try:
            async with asyncio.timeout(timeout):
                message = await receive()
        except TimeoutError:
            raise BadRequestBody(
                408, f"the client sent no body data for {timeout:g} seconds"
            ) from None
        if message["type"] == "http.disconnect":
            raise BadRequestBody(400, "the client closed the connection before sending its body")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def read_ahead(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``body`` with its first piece already received (``forwarding.messages.read_ahead``)."""
    first = await anext(body, None)

    async def chained() -> AsyncIterator[bytes]:
        if first is not None:
            yield first
        async for piece in body:
            yield piece

    return chained()


async def stream_answer(
    upstream: AsyncUpstreamResponse, headers: list[tuple[str, str]], receive: Receive, send: Send
) -> None:
    """Send the upstream's answer as it arrives; stop the upstream when the client leaves."""

    async def relay() -> None:
        await send(
            {
                "type": "http.response.start",
                "status": upstream.status,
                "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers],
            }
        )
        async for chunk in upstream.body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    relaying = asyncio.ensure_future(relay())
    watching = asyncio.ensure_future(wait_for_disconnect(receive))
    try:
        done, _ = await asyncio.wait({relaying, watching}, return_when=asyncio.FIRST_COMPLETED)
        if relaying not in done:
            # The client left mid-answer (an SSE stream it closed, a download
            # it cancelled): stop reading from the upstream.
            relaying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relaying
    except UpstreamStreamError:
        # The head is sent: raising lets the server abort the connection, so
        # the client sees a truncated answer, never a complete-looking one.
        raise
    finally:
        watching.cancel()
        await upstream.aclose()


async def wait_for_disconnect(receive: Receive) -> None:
    """Return when the ASGI server says the client has gone."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def send_django_response(response: HttpResponseBase, send: Send) -> None:
    """Send a small, non-streaming Django response (the 400/502/504 answers), framed."""
    body = b"".join(response)
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response.items()
        if name.lower() != "content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def get_asgi_application(websocket_app: ASGIApp | None = None) -> StranglerASGIHandler:
    """Django's ASGI application, behind the front door for forwarded requests.

    ``websocket_app`` answers the WebSockets Django owns (for example
    Channels' ``URLRouter``); without it they are refused.
    """
    django.setup(set_prefix=False)
    return StranglerASGIHandler(ASGIHandler(), websocket_app)
