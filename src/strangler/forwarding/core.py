"""The forwarding core: the one path every forwarded request takes.

Every entry (``StranglerMiddleware``, the WSGI fast path ``strangler.wsgi``,
``strangler.views.forward_to_flask``, the ASGI entry) calls
:func:`send_upstream` (or :func:`forward_request`, which wraps its answer in a
Django response). It

1. builds the ONE upstream request (``messages.build_upstream_request``: the
   method, the raw target under the transport's base path, cleaned headers,
   a body framed by the front itself);
2. asks the registered signer (``signing.py``; identity registers one) for
   the headers that vouch for exactly that request;
3. sends it through the :class:`~strangler.forwarding.transport.Transport`
   built once from ``STRANGLER["UPSTREAM"]``;
4. checks the answer and turns its headers into the client's.

Steps 1 and 4 are pure functions the ASGI entry reuses from async code; only
step 3 does I/O. A second place computing any of these facts is how a signed
path and a sent path drift apart, so there is none.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponseBase

from ..conf import conf_cache, get_conf
from .errors import ForwardingError, UpstreamStreamError, UpstreamUnavailable
from .headers import Headers, client_response_headers
from .health import get_upstream_health, waiting_on
from .messages import (
    IPNetwork,
    UpstreamRequest,
    UpstreamResponse,
    build_upstream_request,
    parse_networks,
    read_ahead,
)
from .paths import client_target
from .response import ForwardedResponse, error_response
from .signing import get_signer
from .transport import Transport
from .upstream import parse_upstream

logger = logging.getLogger("strangler.forwarding")


@conf_cache
def get_transport() -> Transport:
    """The transport for ``STRANGLER["UPSTREAM"]``, built once per process.

    Raises ``UpstreamConfigError`` for a bad setting (``manage.py check``
    reports the same problem before any request does).
    """
    conf = get_conf()
    return parse_upstream(conf["UPSTREAM"]).open_transport(conf)


@conf_cache
def trusted_proxies() -> tuple[IPNetwork, ...]:
    """``STRANGLER["TRUSTED_PROXIES"]`` parsed once (``manage.py check`` reports bad entries)."""
    try:
        return parse_networks(get_conf()["TRUSTED_PROXIES"])
    except (TypeError, ValueError):
        logger.error("STRANGLER['TRUSTED_PROXIES'] is invalid: no proxy is trusted")
        return ()


def prepare_request(
    request: HttpRequest, *, host: str, transport: Transport, scheme: str | None = None
) -> UpstreamRequest:
    """The signed upstream request for ``request``: built once, signed over what is sent.

    ``scheme`` is ``request.scheme`` when the caller has it already.
    """
    conf = get_conf()
    signer = get_signer()
    upstream_request = build_upstream_request(
        request.META,
        host=host,
        scheme=scheme or request.scheme or "http",
        chunk_size=conf["CHUNK_SIZE"],
        forwarded_headers=conf["FORWARDED_HEADERS"],
        base_path=transport.base_path,
        target=client_target(request),
        strip_headers=signer.owned_headers(),
        trusted_proxies=trusted_proxies(),
        body_timeout=conf["CLIENT_BODY_TIMEOUT"],
    )
    upstream_request.headers.extend(signer.sign(request, upstream_request))
    return upstream_request


def send_upstream(request: HttpRequest, *, host: str | None = None) -> UpstreamResponse:
    """Forward ``request``; return the answer with the headers the client gets.

    ``host`` is ``request.get_host()`` when the caller has it already. Raises
    ``ForwardingError`` (logged with the route and the upstream, never a
    token) or ``DisallowedHost``. The caller streams ``body`` and must call
    ``close()``.
    """
    transport = get_transport()
    if host is None:
        host = request.get_host()
    # Django works the scheme out anew on every read (the secure-proxy header).
    scheme = request.scheme or "http"
    try:
        upstream_request = prepare_request(request, host=host, transport=transport, scheme=scheme)
        # The body's first piece before the upstream is contacted (the ASGI
        # entry does the same from the ASGI server's messages).
        upstream_request.body = read_ahead(upstream_request.body)
        # Fails fast while the upstream is known down or too many requests
        # already wait on it (``health.py``); records what this one found.
        with waiting_on(get_upstream_health()):
            response = transport.send(upstream_request)
            response.body = _first_piece_read(response)
    except ForwardingError as error:
        log_failure(request, transport, error)
        raise
    response.headers = client_headers(
        request, response.headers, host=host, transport=transport, scheme=scheme
    )
    return response


def client_headers(
    request: HttpRequest,
    headers: Headers,
    *,
    host: str,
    transport: Transport,
    scheme: str | None = None,
) -> Headers:
    """The upstream answer's headers as the client gets them (step 4, pure).

    ``scheme`` is ``request.scheme`` when the caller has it already.
    """
    conf = get_conf()
    scheme = scheme or request.scheme or "http"
    address = transport.address
    return client_response_headers(
        headers,
        upstream_origin=address.origin if address is not None else None,
        upstream_base_path=address.base_path if address is not None else "",
        upstream_host=address.host if address is not None else "",
        front=f"{scheme}://{host}{request.META.get('SCRIPT_NAME', '')}",
        rewrite_location_header=conf["REWRITE_LOCATION"],
        rewrite_cookie_domain=conf["REWRITE_COOKIE_DOMAIN"],
        added=conf["RESPONSE_HEADERS"],
    )


def log_failure(request: HttpRequest, transport: Transport, error: ForwardingError) -> None:
    """The one log line of a failed forward: route, upstream, cause (never a token)."""
    logger.error(
        "forwarding %s %s to %s failed: %s (%s)",
        request.method,
        request.path,
        transport.name,
        error.reason,
        error.__cause__ or error.code,
    )


def _first_piece_read(response: UpstreamResponse) -> Iterator[bytes]:
    """The body with its first piece read now, while the status can still change.

    A WSGI server sends the status line with the first piece of the body; a
    body that fails before it (cut, longer than its Content-Length) is then
    a 502 rather than the server's own 500. Nothing is delayed: no server
    would send the head before that piece anyway.
    """
    try:
        first = next(response.body, None)
    except UpstreamStreamError as exc:
        response.close()
        raise UpstreamUnavailable("the upstream application sent an invalid response") from exc
    if first is None:
        return iter(())
    return itertools.chain((first,), response.body)


def forward_request(request: HttpRequest) -> HttpResponseBase:
    """Answer ``request`` with the upstream's answer, streamed, as a Django response.

    Failures come back as short 502/504 (or 4xx for an unusable client body)
    responses; a disallowed ``Host`` raises ``DisallowedHost`` for Django to
    answer with its 400.
    """
    try:
        upstream = send_upstream(request)
    except ForwardingError as error:
        return error_response(request, error)
    return ForwardedResponse(upstream, upstream.headers)
