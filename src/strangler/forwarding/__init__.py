"""Forward a Django request to the Flask upstream and stream its answer back.

``forward_request`` is the one entry point; the transports (``http``,
``wsgi``) and header rules (``headers``) behind it are implementation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from ..conf import conf_cache, get_conf
from .errors import ForwardingError
from .headers import Headers, filter_response_headers, rewrite_location, strip_cookie_domain
from .http import HttpTransport
from .messages import UpstreamRequest, UpstreamResponse, build_upstream_request
from .response import ForwardedResponse, error_response
from .upstream import HttpUpstream, WsgiUpstream, parse_upstream
from .wsgi import WsgiTransport

__all__ = [
    "ForwardedResponse",
    "ForwardingError",
    "HttpTransport",
    "Transport",
    "UpstreamRequest",
    "UpstreamResponse",
    "WsgiTransport",
    "forward_request",
    "get_transport",
    "open_upstream",
]

logger = logging.getLogger("strangler.forwarding")

Transport = HttpTransport | WsgiTransport


@conf_cache
def get_transport() -> Transport:
    """The transport for ``STRANGLER["UPSTREAM"]``, built once per process.

    Raises ``UpstreamConfigError`` for a bad setting (``manage.py check``
    reports the same problem before any request does).
    """
    conf = get_conf()
    upstream = parse_upstream(conf["UPSTREAM"])
    if isinstance(upstream, WsgiUpstream):
        return WsgiTransport(upstream.load(), name=str(upstream))
    return HttpTransport(
        upstream,
        pool_size=conf["POOL_SIZE"],
        connect_timeout=conf["CONNECT_TIMEOUT"],
        read_timeout=conf["READ_TIMEOUT"],
        retries=conf["RETRIES"],
        chunk_size=conf["CHUNK_SIZE"],
        preserve_host=conf["PRESERVE_HOST"],
    )


def forward_request(
    request: HttpRequest, *, extra_headers: Iterable[tuple[str, str]] = ()
) -> HttpResponseBase:
    """Send ``request`` to the upstream and return its answer as a streaming response.

    Failures come back as short 502/504 (or 4xx for an unusable client body)
    responses and a log line naming the route and the upstream; a disallowed
    ``Host`` raises ``DisallowedHost`` for Django to answer with its 400.
    ``extra_headers`` are added to the upstream request after the client's
    copies of them were removed (the identity token).
    """
    try:
        upstream_response, headers = open_upstream(request, extra_headers=extra_headers)
    except ForwardingError as error:
        return error_response(request, error)
    return ForwardedResponse(upstream_response, headers)


def open_upstream(
    request: HttpRequest,
    *,
    extra_headers: Iterable[tuple[str, str]] = (),
    host: str | None = None,
) -> tuple[UpstreamResponse, Headers]:
    """Send ``request`` upstream; return the answer and the headers to send the client.

    The shared core of ``forward_request`` and the WSGI fast path
    (``strangler.wsgi``). ``host`` is ``request.get_host()`` when the caller
    has it already. Raises ``ForwardingError`` (already logged) or
    ``DisallowedHost``.
    """
    conf = get_conf()
    transport = get_transport()
    if host is None:
        host = request.get_host()
    extra = list(extra_headers)
    try:
        upstream_request = build_upstream_request(
            request.META,
            host=host,
            scheme=request.scheme or "http",
            chunk_size=conf["CHUNK_SIZE"],
            forwarded_headers=conf["FORWARDED_HEADERS"],
            strip_headers=_stripped_headers(conf, extra),
            extra_headers=extra,
        )
        upstream_response = transport.send(upstream_request)
    except ForwardingError as error:
        logger.error(
            "forwarding %s %s to %s failed: %s (%s)",
            request.method,
            request.path,
            _upstream_name(transport),
            error.reason,
            error.__cause__ or error.code,
        )
        raise
    headers = _response_headers(
        upstream_response.headers, transport, conf, front=_front_origin(request, host)
    )
    return upstream_response, headers


def _stripped_headers(conf: dict[str, Any], extra: Headers) -> list[str]:
    # The identity header is Django's to set; a client's copy never passes,
    # whether or not identity tokens are switched on.
    names = [name for name, _ in extra]
    identity = conf["IDENTITY"]
    if isinstance(identity, dict) and isinstance(identity.get("HEADER"), str):
        names.append(identity["HEADER"])
    return names


def _response_headers(
    headers: Headers, transport: Transport, conf: dict[str, Any], *, front: str
) -> Headers:
    headers = filter_response_headers(headers)
    if isinstance(transport, HttpTransport):
        upstream: HttpUpstream = transport.upstream
        if conf["REWRITE_LOCATION"]:
            headers = [
                (
                    name,
                    rewrite_location(
                        value,
                        upstream_origin=upstream.origin,
                        base_path=upstream.base_path,
                        front=front,
                    )
                    if name.lower() == "location"
                    else value,
                )
                for name, value in headers
            ]
        if conf["REWRITE_COOKIE_DOMAIN"]:
            headers = [
                (name, strip_cookie_domain(value, upstream.host))
                if name.lower() == "set-cookie"
                else (name, value)
                for name, value in headers
            ]
    extra: dict[str, str] = conf["RESPONSE_HEADERS"] or {}
    if extra:
        present = {name.lower() for name, _ in headers}
        headers.extend(
            (name, value) for name, value in extra.items() if name.lower() not in present
        )
    return headers


def _front_origin(request: HttpRequest, host: str) -> str:
    return f"{request.scheme or 'http'}://{host}{request.META.get('SCRIPT_NAME', '')}"


def _upstream_name(transport: Transport) -> str:
    return str(transport.upstream) if isinstance(transport, HttpTransport) else transport.name
