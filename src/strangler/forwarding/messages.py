"""What a transport is given and what it gives back.

Both transports take the same :class:`UpstreamRequest`, built once from the
client's WSGI environ by :func:`build_upstream_request`, so that header
hygiene, the request target and the body framing are decided in one place.
No framework imports here either.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import re
import socket
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Any
from urllib.parse import quote, unquote_to_bytes

from .errors import BadRequestBody
from .headers import Headers, add_forwarded_headers, headers_from_environ

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

# Characters left unescaped when a target has to be rebuilt from PATH_INFO:
# RFC 3986 pchar minus "%" (PATH_INFO is already decoded, so a "%" in it is a
# literal percent sign and must become %25).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# Bytes that were not UTF-8, as "surrogateescape" decoding leaves them.
_ESCAPED = re.compile("[\udc80-\udcff]")


@dataclass
class UpstreamRequest:
    """A request ready for a transport: everything but the upstream's address."""

    method: str
    # Origin-form request target ("/path?query") exactly as sent: the upstream's
    # base path included. Identity signs this very string.
    target: str
    headers: Headers
    # The Host the client used, as Django validated it against ALLOWED_HOSTS.
    host: str = ""
    # The request body as a stream of chunks, or None when there is none.
    body: Iterable[bytes] | None = None
    # The framing the front computed: the body's length, or None with a body
    # for chunked. ``headers`` never carries framing; the transport writes it.
    content_length: int | None = None
    # The client's environ, for the in-process transport (server name, wsgi.errors, ...).
    environ: Mapping[str, Any] = field(default_factory=dict)

    @property
    def idempotent(self) -> bool:
        """May this request be sent again if the first attempt never reached the upstream?"""
        return self.method in IDEMPOTENT_METHODS

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.partition("?")[0]


@dataclass
class UpstreamResponse:
    """The upstream's answer: status line and headers read, body still to stream."""

    status: int
    reason: str
    headers: Headers
    body: Iterator[bytes]
    # Releases the upstream connection (or closes the WSGI iterable). Idempotent.
    close: Callable[[], None]


def as_django_reads(raw_path: str) -> str:
    """The ``PATH_INFO`` Django makes of a raw (percent-encoded) request path.

    Django decodes the path's bytes as UTF-8 and re-escapes the bytes that
    are not UTF-8 as ``%XX`` (``repercent_broken_unicode``); comparing in
    that form lets a non-UTF-8 target such as ``/caf%E9`` be recognised as
    the one the server parsed, and pass on byte for byte.
    """
    if "%" not in raw_path and raw_path.isascii():
        return raw_path
    try:
        data = unquote_to_bytes(raw_path.encode("latin-1"))
    except UnicodeEncodeError:
        return ""  # not a WSGI string: never equal to a parsed path
    text = data.decode("utf-8", "surrogateescape")
    if not _ESCAPED.search(text):
        return text
    return _ESCAPED.sub(lambda match: f"%{ord(match.group()) - 0xDC00:02X}", text)


def request_target(environ: Mapping[str, Any]) -> str:
    """The origin-form target to send upstream, byte for byte what the client sent.

    ``environ`` is Django's ``request.META``, where ``PATH_INFO`` and
    ``SCRIPT_NAME`` hold the decoded (UTF-8) path. Servers that keep the raw
    request line (gunicorn's ``RAW_URI``, uWSGI's and Werkzeug's
    ``REQUEST_URI``) let us pass percent-encoding, ``%2F`` and a bare ``?``
    through untouched. The raw form is used only when it is origin-form and
    decodes to the path and query the server parsed, so an absolute-form
    target (``GET http://evil/ HTTP/1.1``) can never name a host: it is
    rebuilt from ``PATH_INFO`` like any other. The front's own mount prefix
    (``SCRIPT_NAME``) is removed.
    """
    script_name = environ.get("SCRIPT_NAME", "") or ""
    path_info = environ.get("PATH_INFO", "") or ""
    query = environ.get("QUERY_STRING", "") or ""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/") and not _CONTROL.search(raw):
        raw_path, has_query, raw_query = raw.partition("?")
        if (
            raw_query == query
            and as_django_reads(raw_path) == script_name + path_info
            and raw_path.startswith(script_name)
        ):
            path = raw_path[len(script_name) :] or "/"
            return path + has_query + raw_query
    path = quote(path_info.encode("utf-8"), safe=_PATH_SAFE) or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{path}?{query}" if query else path


def request_body(
    environ: Mapping[str, Any],
    chunk_size: int,
    timeout: float | None = None,
    stream: IO[bytes] | None = None,
) -> tuple[Iterable[bytes] | None, int | None]:
    """The client's body as ``(chunks, length)``, streamed, never buffered whole.

    A declared ``Content-Length`` is read exactly. A chunked body is read to
    its end only when the server says ``wsgi.input`` ends there
    (``wsgi.input_terminated``: gunicorn, Werkzeug); otherwise reading would
    hang on the next keep-alive request, so it is refused with 411.

    ``timeout`` bounds the wait for each piece of the body (a client that
    stops sending gets a 408), where the server lets us reach its socket
    (gunicorn's ``gunicorn.socket``); it is separate from the upstream's
    ``READ_TIMEOUT``. ``stream`` is the body's file when ``environ`` has no
    ``wsgi.input`` (an ASGI request's body).
    """
    body = ClientBody(
        stream if stream is not None else environ["wsgi.input"],
        environ.get("gunicorn.socket"),
        timeout,
    )
    length_value = environ.get("CONTENT_LENGTH") or ""
    if length_value:
        try:
            length = int(length_value)
        except ValueError:
            raise BadRequestBody(400, f"invalid Content-Length {length_value!r}") from None
        if length < 0:
            raise BadRequestBody(400, f"invalid Content-Length {length_value!r}")
        if length == 0:
            return None, 0
        return _read_exactly(body, length, chunk_size), length
    if "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower():
        if not environ.get("wsgi.input_terminated"):
            raise BadRequestBody(
                411, "a chunked request body needs a server that de-chunks it (gunicorn, uWSGI)"
            )
        return _read_to_end(body, chunk_size), None
    return None, None


class ClientBody:
    """Reads the client's body from the server, each read bounded by ``timeout``.

    The server parses the client's framing (gunicorn de-chunks); whatever it
    raises for a malformed or cut body (``ChunkMissingTerminator``,
    ``NoMoreData``) is the client's fault: a 400, never a 500 or a 502.
    """

    def __init__(self, stream: IO[bytes], sock: object, timeout: float | None) -> None:
        self.stream = stream
        self.sock = sock if timeout is not None and isinstance(sock, socket.socket) else None
        self.timeout = timeout

    def read(self, size: int) -> bytes:
        sock = self.sock
        if sock is None:
            return self._read(size)
        previous = sock.gettimeout()
        sock.settimeout(self.timeout)
        try:
            return self._read(size)
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)

    def _read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except TimeoutError as exc:
            if self.sock is not None:
                # The server would wait for the rest of this body before the
                # next request on the connection: end it instead.
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_RD)
            raise BadRequestBody(
                408, f"the client sent no body data for {self.timeout:g} seconds"
            ) from exc
        except Exception as exc:
            raise BadRequestBody(
                400, f"the request body could not be read ({type(exc).__name__})"
            ) from exc


def _read_exactly(stream: ClientBody, length: int, chunk_size: int) -> Iterator[bytes]:
    remaining = length
    while remaining:
        chunk = stream.read(min(chunk_size, remaining))
        if not chunk:
            raise BadRequestBody(400, "the client closed the connection before sending its body")
        remaining -= len(chunk)
        yield chunk


def _read_to_end(stream: ClientBody, chunk_size: int) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``TRUSTED_PROXIES`` entries (addresses or CIDR networks) parsed; ``ValueError`` if bad."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


@lru_cache(maxsize=256)
def is_trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    """Is the peer ``address`` one of the trusted proxies?"""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def build_upstream_request(
    environ: Mapping[str, Any],
    *,
    host: str,
    scheme: str,
    chunk_size: int,
    forwarded_headers: bool,
    base_path: str = "",
    target: str | None = None,
    strip_headers: Iterable[str] = (),
    trusted_proxies: Collection[IPNetwork] = (),
    body_timeout: float | None = None,
    body_stream: IO[bytes] | None = None,
) -> UpstreamRequest:
    """Turn a client's WSGI environ into the one request to send upstream.

    Pure (no I/O until the body is iterated), so every entry path, the ASGI
    one included, builds the request the same way. ``host`` and ``scheme``
    are the front's, as Django validated them (allowed hosts, secure-proxy
    header). ``base_path`` is the transport's prefix for every target;
    ``target`` is ``request_target(environ)`` when the caller has it already.
    ``strip_headers`` names client headers that must never reach the upstream
    whatever their spelling (the identity header); the signer adds its own
    after this, over the final target. Proxy headers (``Forwarded``,
    ``X-Real-IP``, ``X-Forwarded-*``...) are kept only from a peer in
    ``trusted_proxies``. ``body_timeout`` bounds each wait for the client's body.
    ``environ`` may be an ASGI request's ``META`` (no ``wsgi.input``): pass its
    body file as ``body_stream``.
    """
    client_addr = environ.get("REMOTE_ADDR", "") or ""
    headers = headers_from_environ(
        environ,
        strip=strip_headers,
        trusted_peer=bool(trusted_proxies) and is_trusted(client_addr, tuple(trusted_proxies)),
    )
    if forwarded_headers:
        headers = add_forwarded_headers(
            headers,
            client_addr=client_addr,
            proto=scheme,
            host=host,
            prefix=environ.get("SCRIPT_NAME", "") or "",
        )
    body, length = request_body(environ, chunk_size, body_timeout, body_stream)
    method = environ.get("REQUEST_METHOD", "GET")
    return UpstreamRequest(
        method=method,
        target=base_path + (target if target is not None else request_target(environ)),
        headers=headers,
        host=host,
        body=body,
        content_length=length,
        environ=environ,
    )


def read_ahead(body: Iterable[bytes] | None) -> Iterable[bytes] | None:
    """``body`` with its first piece (up to ``CHUNK_SIZE``) already read.

    Called before the upstream is contacted: a body that fits in one piece
    (most form posts and JSON) is wholly received first, so a client that
    sends it slowly, or never, holds one of the front's threads and none of
    the upstream's.
    """
    if body is None:
        return None
    pieces = iter(body)
    first = next(pieces, None)
    if first is None:
        return ()
    return itertools.chain((first,), pieces)
