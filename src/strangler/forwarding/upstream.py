"""Parse ``STRANGLER["UPSTREAM"]`` into where forwarded requests go.

Two forms are accepted:

* ``"http://host:port/optional/base"`` (or ``https://``): the HTTP transport.
* ``"wsgi:package.module:app"``: the in-process transport, which calls the
  Flask WSGI app object directly.

This module is the one place the setting is read and parsed; everything
else asks :func:`parse_upstream` (checks) or the transport built from it.
Parsing is strict because the upstream is the one thing no request may
change: credentials, query strings and fragments in the URL are refused
rather than silently ignored.
"""

from __future__ import annotations

import importlib
import ssl
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .async_http import AsyncHttpTransport
    from .async_wsgi import AsyncWsgiTransport
    from .transport import Transport

WSGI_PREFIX = "wsgi:"


class UpstreamConfigError(ValueError):
    """``STRANGLER["UPSTREAM"]`` is missing or malformed; the message says how."""


@dataclass(frozen=True)
class HttpUpstream:
    """A Flask app reached over HTTP(S)."""

    scheme: str
    host: str
    port: int
    base_path: str  # "" or "/prefix", never ending in "/"

    # Cached: the transport asks for these on every request (frozen, so they cannot go stale).
    @cached_property
    def netloc(self) -> str:
        """``host:port`` as sent in the Host header (port left out when default)."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @cached_property
    def origin(self) -> str:
        """``scheme://netloc``, what absolute URLs pointing at the upstream start with."""
        return f"{self.scheme}://{self.netloc}"

    def __str__(self) -> str:
        return self.origin + self.base_path

    def tls_context(self, ca_bundle: str | None = None) -> ssl.SSLContext | None:
        """:func:`client_tls_context` for an ``https://`` upstream, None for ``http://``."""
        return client_tls_context(ca_bundle) if self.scheme == "https" else None

    def open_transport(self, conf: dict[str, Any]) -> Transport:
        """A pooled HTTP transport to this upstream, tuned by ``conf`` (``get_conf()``)."""
        from .http import HttpTransport

        return HttpTransport(self, **_http_options(conf))

    def open_async_transport(self, conf: dict[str, Any]) -> AsyncHttpTransport:
        """The same, for an event loop (the ASGI entry), with the same options."""
        from .async_http import AsyncHttpTransport

        return AsyncHttpTransport(self, **_http_options(conf))


def client_tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """How every transport verifies an ``https://`` upstream (and ``wss://`` WebSockets).

    The standard library's defaults: the certificate must chain to a trusted
    CA (those in ``ca_bundle``, ``UPSTREAM_CA_BUNDLE``, instead of the
    system's store when given) and name the upstream's host or IP address;
    a failure refuses the connection (a 502), never falls back to plain
    text. Raises ``OSError`` (``ssl.SSLError`` is one) when the bundle cannot
    be loaded.
    """
    return ssl.create_default_context(cafile=ca_bundle)


def _http_options(conf: dict[str, Any]) -> dict[str, Any]:
    """The settings an HTTP transport, blocking or async, is tuned by."""
    return {
        "pool_size": conf["POOL_SIZE"],
        "connect_timeout": conf["CONNECT_TIMEOUT"],
        "read_timeout": conf["READ_TIMEOUT"],
        "retries": conf["RETRIES"],
        "chunk_size": conf["CHUNK_SIZE"],
        "preserve_host": conf["PRESERVE_HOST"],
        "ca_bundle": conf["UPSTREAM_CA_BUNDLE"],
    }


@dataclass(frozen=True)
class WsgiUpstream:
    """A Flask (or any WSGI) app called in-process."""

    module: str
    attribute: str

    def load(self) -> Any:
        """Import and return the WSGI callable; raises ``UpstreamConfigError``."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as exc:
            raise UpstreamConfigError(
                f"cannot import module {self.module!r} named by UPSTREAM: {exc}"
            ) from exc
        try:
            app = getattr(module, self.attribute)
        except AttributeError:
            raise UpstreamConfigError(
                f"module {self.module!r} has no attribute {self.attribute!r} (UPSTREAM)"
            ) from None
        if not callable(app):
            raise UpstreamConfigError(
                f"{self.module}:{self.attribute} is not a WSGI callable (UPSTREAM)"
            )
        return app

    def __str__(self) -> str:
        return f"{WSGI_PREFIX}{self.module}:{self.attribute}"

    def open_transport(self, conf: dict[str, Any]) -> Transport:
        """The in-process transport calling the app (imported now; ``UpstreamConfigError``)."""
        from .wsgi import WsgiTransport

        return WsgiTransport(self.load(), name=str(self))

    def open_async_transport(self, conf: dict[str, Any]) -> AsyncWsgiTransport:
        """The in-process transport for an event loop: the app in ``ASGI_THREADS`` threads."""
        from .async_wsgi import AsyncWsgiTransport
        from .wsgi import WsgiTransport

        return AsyncWsgiTransport(
            WsgiTransport(self.load(), name=str(self)), threads=conf["ASGI_THREADS"]
        )


Upstream = HttpUpstream | WsgiUpstream


def parse_upstream(value: object) -> Upstream:
    """Parse the UPSTREAM setting; raise ``UpstreamConfigError`` naming what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise UpstreamConfigError(
            f"UPSTREAM must be a URL such as 'http://127.0.0.1:5000' or "
            f"'wsgi:package.module:app', not {value!r}"
        )
    if value.startswith(WSGI_PREFIX):
        return _parse_wsgi(value)
    return _parse_http(value)


def _parse_wsgi(value: str) -> WsgiUpstream:
    spec = value[len(WSGI_PREFIX) :]
    module, sep, attribute = spec.partition(":")
    identifiers = [*module.split("."), attribute]
    if not sep or not all(part.isidentifier() for part in identifiers):
        raise UpstreamConfigError(
            f"UPSTREAM {value!r} must look like 'wsgi:package.module:app' "
            f"(a module path, a colon, then the name of the app object)"
        )
    return WsgiUpstream(module=module, attribute=attribute)


def _parse_http(value: str) -> HttpUpstream:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise UpstreamConfigError(f"UPSTREAM {value!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UpstreamConfigError(
            f"UPSTREAM {value!r} must start with http:// or https:// "
            f"(or be 'wsgi:package.module:app' for the in-process transport)"
        )
    if not parts.hostname:
        raise UpstreamConfigError(f"UPSTREAM {value!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise UpstreamConfigError(
            f"UPSTREAM {value!r} must not carry credentials; "
            f"the identity token is how Flask learns who the user is"
        )
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise UpstreamConfigError(f"UPSTREAM {value!r} must not have a query string or fragment")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return HttpUpstream(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        base_path=parts.path.rstrip("/"),
    )
