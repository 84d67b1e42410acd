"""Header hygiene for forwarding, in both directions (RFC 9110 §7.6.1).

Pure functions over plain lists of ``(name, value)`` pairs and WSGI environs,
with no framework imports, so the HTTP and the in-process transports apply
exactly the same rules. Values stay ``str`` decoded as ISO-8859-1, which is how
both WSGI and the HTTP transport (``http11.py``) carry header bytes, so
nothing is re-encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from functools import lru_cache

Headers = list[tuple[str, str]]

# Connection-specific fields a proxy must not forward (RFC 9110 §7.6.1), plus
# the proxy's own fields. "Expect" is answered by the front server itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Framing ("Content-Length", "Transfer-Encoding") and "Host" are never copied
# from the client: the transport writes them from what the front computed
# (the body it read, the upstream's host), so no client header, and no
# "Connection" token naming one, can change how the upstream frames the body.
FRAMING = frozenset({"content-length", "transfer-encoding", "host"})

# What proxies say about the client and the original request. From a client
# they are lies (a spoofed address, scheme or host), so they are dropped
# unless the peer is a trusted proxy (TRUSTED_PROXIES); the front then sets
# its own X-Forwarded-For/-Proto/-Host/-Prefix (docs/forwarding.md).
CLIENT_FORWARDING = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-prefix",
        "x-forwarded-port",
        "x-forwarded-server",
        "x-forwarded-ssl",
        "x-forwarded-scheme",
        "x-real-ip",
        "x-client-ip",
        "true-client-ip",
        "x-cluster-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "front-end-https",
        "x-url-scheme",
        "x-scheme",
    }
)
# Ask a server or framework to handle another URL or method than the request
# line's (IIS and Symfony honour X-Original-URL; method-override middleware
# the others): a path or method Django did not decide on. Never forwarded,
# whoever sent them.
OVERRIDES = frozenset(
    {
        "x-original-url",
        "x-original-uri",
        "x-rewrite-url",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    }
)
_NOT_FORWARDED_UP = HOP_BY_HOP | FRAMING | OVERRIDES | {"expect"}

# Set by the front for this hop; a trusted proxy's copies are replaced too.
_REPLACED_BY_FRONT = frozenset(
    {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-prefix"}
)


def connection_tokens(value: str | None) -> set[str]:
    """Field names listed in a ``Connection`` header value, lower-cased."""
    if not value:
        return set()
    return {token.strip().lower() for token in value.split(",") if token.strip()}


@lru_cache(maxsize=512)
def environ_key(header_name: str) -> str:
    """The WSGI environ key a header arrives under (``X-Foo`` -> ``HTTP_X_FOO``).

    WSGI servers fold case and turn ``-`` into ``_``, so every spelling of a
    name (``x-foo``, ``X_FOO``) lands on this one key: dropping the key drops
    them all.
    """
    key = header_name.upper().replace("-", "_")
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key
    return "HTTP_" + key


@lru_cache(maxsize=512)
def header_name(key: str) -> str | None:
    """The header name for a WSGI environ key (``HTTP_X_FOO`` -> ``X-Foo``), else None.

    Names are rebuilt in the conventional Title-Case since WSGI does not keep
    the client's spelling. Cached: the same few dozen keys come every request.
    """
    if key.startswith("HTTP_"):
        key = key[5:]
    elif key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return None
    return "-".join(part.capitalize() for part in key.split("_"))


# HTTP_CONTENT_LENGTH too: a server could put a client's "Content_Length" there.
_NOT_FORWARDED_UP_KEYS = frozenset(environ_key(name) for name in _NOT_FORWARDED_UP) | {
    "HTTP_CONTENT_LENGTH"
}
_CLIENT_FORWARDING_KEYS = frozenset(environ_key(name) for name in CLIENT_FORWARDING)


@lru_cache(maxsize=64)
def _dropped_keys(strip: tuple[str, ...], connection: str | None, trusted: bool) -> frozenset[str]:
    tokens = connection_tokens(connection)
    dropped = _NOT_FORWARDED_UP_KEYS.union(environ_key(name) for name in (*strip, *tokens))
    return dropped if trusted else dropped | _CLIENT_FORWARDING_KEYS


def headers_from_environ(
    environ: Mapping[str, object], *, strip: Iterable[str] = (), trusted_peer: bool = False
) -> Headers:
    """The client's request headers that may travel upstream.

    Hop-by-hop headers, those named by ``Connection``, the framing headers
    and ``Host`` (the transport writes its own), URL and method overrides,
    and any header in ``strip`` (in any spelling) are left out; so are the
    proxy headers (``CLIENT_FORWARDING``) unless the peer is a trusted proxy.
    """
    connection = environ.get("HTTP_CONNECTION")
    dropped = _dropped_keys(
        tuple(strip), connection if isinstance(connection, str) else None, trusted_peer
    )
    headers: Headers = []
    for key, value in environ.items():
        name = header_name(key)
        if name is None or key in dropped or not isinstance(value, str):
            continue
        if not value and key == "CONTENT_TYPE":
            continue  # servers set it empty when the client sent none
        headers.append((name, value))
    return headers


def add_forwarded_headers(
    headers: Headers,
    *,
    client_addr: str,
    proto: str,
    host: str,
    prefix: str,
) -> Headers:
    """Return ``headers`` with the ``X-Forwarded-*`` family set for the upstream.

    ``X-Forwarded-For`` is appended to, as every proxy in a chain does (what
    is in ``headers`` came from a trusted proxy: a client's copy was
    dropped); the other three describe this hop as Django saw it, so they
    replace any earlier value.
    """
    previous_for: list[str] = []
    kept: Headers = []
    for name, value in headers:
        lowered = name.lower()  # once per header: one pass sorts them all
        if lowered not in _REPLACED_BY_FRONT:
            kept.append((name, value))
        elif lowered == "x-forwarded-for":
            previous_for.append(value)
    chain = ", ".join([*previous_for, client_addr]) if client_addr else ", ".join(previous_for)
    if chain:
        kept.append(("X-Forwarded-For", chain))
    kept.append(("X-Forwarded-Proto", proto))
    kept.append(("X-Forwarded-Host", host))
    if prefix:
        kept.append(("X-Forwarded-Prefix", prefix))
    return kept


def filter_response_headers(headers: Iterable[tuple[str, str]]) -> Headers:
    """Drop hop-by-hop headers (and those named by ``Connection``) from a response."""
    return [pair for lowered, pair in _kept_response_headers(headers)]


def _kept_response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, tuple[str, str]]]:
    """:func:`filter_response_headers`' headers, each with its name lower-cased (once)."""
    lowered = [(name.lower(), (name, value)) for name, value in headers]
    dropped: Set[str] = HOP_BY_HOP
    for name, (_, value) in lowered:
        if name == "connection":
            dropped = dropped | connection_tokens(value)
    return [item for item in lowered if item[0] not in dropped]


def rewrite_location(value: str, *, upstream_origin: str, base_path: str, front: str) -> str:
    """Point an absolute ``Location`` at the front instead of the upstream.

    ``front`` is ``scheme://host`` plus the front's mount prefix. Relative
    locations and locations on other hosts are returned unchanged.
    """
    upstream = upstream_origin + base_path
    if value == upstream or value.startswith((upstream + "/", upstream + "?")):
        rest = value[len(upstream) :]
        return front + (rest or "/")
    return value


def strip_cookie_domain(value: str, upstream_host: str) -> str:
    """Remove a ``Domain`` attribute naming ``upstream_host`` from a Set-Cookie value.

    The cookie then belongs to whatever host the client used, i.e. the front.
    Every other byte of the header, including attributes Django does not know,
    is kept as Flask sent it.
    """
    if "domain" not in value.lower():
        return value
    parts = value.split(";")
    kept = [parts[0]]
    for attribute in parts[1:]:
        name, _, attr_value = attribute.partition("=")
        if name.strip().lower() == "domain" and (
            attr_value.strip().lstrip(".").lower() == upstream_host.lower()
        ):
            continue
        kept.append(attribute)
    return ";".join(kept)


def client_response_headers(
    headers: Iterable[tuple[str, str]],
    *,
    upstream_origin: str | None,
    upstream_base_path: str = "",
    upstream_host: str = "",
    front: str,
    rewrite_location_header: bool = True,
    rewrite_cookie_domain: bool = True,
    added: Mapping[str, str] | None = None,
) -> Headers:
    """The upstream's response headers as the client gets them.

    Hop-by-hop headers are dropped; with an HTTP upstream (``upstream_origin``
    set) a ``Location`` naming it is pointed at ``front`` and a cookie
    ``Domain`` naming it is removed; ``added`` headers are appended where the
    upstream did not set them. Pure, so every entry path (WSGI, ASGI) shares it.
    """
    kept = _kept_response_headers(headers)
    result: Headers
    if upstream_origin is not None and (rewrite_location_header or rewrite_cookie_domain):
        result = []
        for lowered, (name, value) in kept:
            if rewrite_location_header and lowered == "location":
                value = rewrite_location(
                    value,
                    upstream_origin=upstream_origin,
                    base_path=upstream_base_path,
                    front=front,
                )
            elif rewrite_cookie_domain and lowered == "set-cookie":
                value = strip_cookie_domain(value, upstream_host)
            result.append((name, value))
    else:
        result = [pair for _, pair in kept]
    if added:
        present = {lowered for lowered, _ in kept}
        result.extend((name, value) for name, value in added.items() if name.lower() not in present)
    return result
