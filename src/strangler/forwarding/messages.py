"""What a transport is given and what it gives back.

Both transports take the same :class:`UpstreamRequest`, built once from the
client's WSGI environ by :func:`build_upstream_request`, so that header
hygiene, the request target and the body framing are decided in one place.
No framework imports here either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import quote, unquote

from .errors import BadRequestBody
from .headers import Headers, add_forwarded_headers, headers_from_environ

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

# Characters left unescaped when a target has to be rebuilt from PATH_INFO:
# RFC 3986 pchar minus "%" (PATH_INFO is already decoded, so a "%" in it is a
# literal percent sign and must become %25).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


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
    # Body length when the client declared one; None with a body means chunked.
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
            and (unquote(raw_path) if "%" in raw_path else raw_path) == script_name + path_info
            and raw_path.startswith(script_name)
        ):
            path = raw_path[len(script_name) :] or "/"
            return path + has_query + raw_query
    path = quote(path_info.encode("utf-8"), safe=_PATH_SAFE) or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{path}?{query}" if query else path


def request_body(
    environ: Mapping[str, Any], chunk_size: int
) -> tuple[Iterable[bytes] | None, int | None]:
    """The client's body as ``(chunks, length)``, streamed, never buffered whole.

    A declared ``Content-Length`` is read exactly. A chunked body is read to
    its end only when the server says ``wsgi.input`` ends there
    (``wsgi.input_terminated``: gunicorn, Werkzeug); otherwise reading would
    hang on the next keep-alive request, so it is refused with 411.
    """
    stream: IO[bytes] = environ["wsgi.input"]
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
        return _read_exactly(stream, length, chunk_size), length
    if "chunked" in (environ.get("HTTP_TRANSFER_ENCODING") or "").lower():
        if not environ.get("wsgi.input_terminated"):
            raise BadRequestBody(
                411, "a chunked request body needs a server that de-chunks it (gunicorn, uWSGI)"
            )
        return _read_to_end(stream, chunk_size), None
    return None, None


def _read_exactly(stream: IO[bytes], length: int, chunk_size: int) -> Iterator[bytes]:
    remaining = length
    while remaining:
        chunk = stream.read(min(chunk_size, remaining))
        if not chunk:
            raise BadRequestBody(400, "the client closed the connection before sending its body")
        remaining -= len(chunk)
        yield chunk


def _read_to_end(stream: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def build_upstream_request(
    environ: Mapping[str, Any],
    *,
    host: str,
    scheme: str,
    chunk_size: int,
    forwarded_headers: bool,
    base_path: str = "",
    strip_headers: Iterable[str] = (),
) -> UpstreamRequest:
    """Turn a client's WSGI environ into the one request to send upstream.

    Pure (no I/O until the body is iterated), so every entry path, the ASGI
    one included, builds the request the same way. ``host`` and ``scheme``
    are the front's, as Django validated them (allowed hosts, secure-proxy
    header). ``base_path`` is the transport's prefix for every target.
    ``strip_headers`` names client headers that must never reach the upstream
    whatever their spelling (the identity header); the signer adds its own
    after this, over the final target.
    """
    headers = headers_from_environ(environ, strip=strip_headers)
    if forwarded_headers:
        headers = add_forwarded_headers(
            headers,
            client_addr=environ.get("REMOTE_ADDR", "") or "",
            proto=scheme,
            host=host,
            prefix=environ.get("SCRIPT_NAME", "") or "",
        )
    body, length = request_body(environ, chunk_size)
    method = environ.get("REQUEST_METHOD", "GET")
    if body is not None and length is None:
        # Re-framed upstream as chunked; the client's Content-Length never existed.
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
    return UpstreamRequest(
        method=method,
        target=base_path + request_target(environ),
        headers=headers,
        host=host,
        body=body,
        content_length=length,
        environ=environ,
    )
