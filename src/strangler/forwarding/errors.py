"""Why a forward failed, as exceptions the middleware turns into short answers.

Every failure maps to a status (502, 504, or 4xx for a bad client body) and a
one-line reason that is safe to show a client: it never contains the
upstream's address or a token. The log line carries the detail.
"""

from __future__ import annotations


class ForwardingError(Exception):
    """A request could not be forwarded; ``status`` and ``reason`` go to the client."""

    status = 502
    code = "bad_gateway"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Seconds for a ``Retry-After`` header (503s of a known-down upstream), or None.
        self.retry_after: int | None = None


class UpstreamUnavailable(ForwardingError):
    """The upstream refused or dropped the connection, or answered with garbage."""

    status = 502
    code = "upstream_unavailable"


class UpstreamUnreachable(UpstreamUnavailable):
    """No connection to the upstream could be made (refused, unreachable)."""


class UpstreamTimeout(ForwardingError):
    """The upstream did not accept the connection or answer in time."""

    status = 504
    code = "upstream_timeout"


class BadRequestBody(ForwardingError):
    """The client's body cannot be forwarded (bad length, truncated, unframed)."""

    code = "bad_request_body"

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class UpstreamStreamError(Exception):
    """The upstream failed after its status line was sent to the client.

    The status cannot be changed any more, so this propagates to the WSGI
    server, which aborts the connection: the client sees a truncated body
    instead of a complete-looking wrong one.
    """
