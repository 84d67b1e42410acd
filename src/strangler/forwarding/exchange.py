"""One exchange with an HTTP upstream, all but the I/O: shared by both HTTP transports.

``http.py`` (blocking sockets) and ``async_http.py`` (the event loop) differ
only in how bytes move. What they decide is decided here, once: the request
head and how many attempts a request gets, which failures allow a second
attempt, what each failure tells the client (502 or 504 and a short
reason), when a connection may go back to the pool, and how a failure
after the head was sent is logged.
"""

from __future__ import annotations

import logging

from .errors import (
    BadRequestBody,
    ForwardingError,
    UpstreamStreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from .headers import Headers
from .http11 import InvalidRequest, InvalidResponse, ResponseHead, request_head
from .messages import UpstreamRequest

logger = logging.getLogger("strangler.forwarding")

# Errors that mean the connection broke before any response arrived.
DROPPED = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class ClosedBeforeAnswer(ConnectionError):
    """The upstream closed the connection before sending a byte of its answer."""


class SwitchedProtocols(Exception):
    """The upstream answered 101 to a request that did not ask to upgrade."""


# The connection was gone before the upstream answered.
_CLOSED = (ClosedBeforeAnswer, *DROPPED)


def encode_head(request: UpstreamRequest, host: str, has_body: bool) -> tuple[bytes, bool]:
    """The request head's bytes, and whether the body goes chunked (a body with no length).

    Raises ``BadRequestBody`` (400) for a request HTTP/1.1 cannot carry as it is.
    """
    chunked = has_body and request.content_length is None
    try:
        head = request_head(
            request.method, request.target, host, request.headers, request.content_length, chunked
        )
    except InvalidRequest as exc:
        raise BadRequestBody(400, str(exc)) from None
    return head, chunked


def attempts(request: UpstreamRequest, retries: int) -> int:
    """How many connections a request may try: only an idempotent one gets a second."""
    return 1 + max(retries, 0) if request.idempotent else 1


def connect_failure(exc: OSError) -> ForwardingError:
    """What the client is told when no connection could be made (nothing was sent)."""
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout("the upstream application did not accept the connection in time")
    return UpstreamUnreachable(
        "the upstream application refused the connection"
        if isinstance(exc, ConnectionRefusedError)
        else "the upstream application could not be reached"
    )


def may_send_again(exc: BaseException, *, reused: bool, has_body: bool, idempotent: bool) -> bool:
    """May a request that failed this way go out again on a new connection?

    Only when a kept-alive connection turned out closed as we used it (so the
    upstream never processed the request), and the request is idempotent and
    has no body of the client's that was already consumed.
    """
    return (
        isinstance(exc, (ClosedBeforeAnswer, *DROPPED)) and reused and not has_body and idempotent
    )


def answer_failure(exc: BaseException) -> ForwardingError | None:
    """What the client is told when the exchange failed before the answer's head was read.

    None for an exception that is not a failure of the exchange (raise it as is).
    """
    if isinstance(exc, BadRequestBody):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout("the upstream application did not answer in time")
    if isinstance(exc, _CLOSED):
        return UpstreamUnavailable("the upstream application closed the connection")
    if isinstance(exc, SwitchedProtocols):
        return UpstreamUnavailable(
            "the upstream application switched protocols, which cannot be forwarded here"
        )
    if isinstance(exc, OSError | InvalidResponse | ValueError):
        return UpstreamUnavailable("the upstream application sent an invalid response")
    return None


def all_attempts_closed() -> UpstreamUnavailable:
    """Every attempt met a kept-alive connection the upstream had just closed."""
    return UpstreamUnavailable("the upstream application closed the connection")


def is_final(head: ResponseHead) -> bool:
    """Is this the final answer? Interim 1xx are read and dropped (RFC 9110 §15.2).

    Raises ``SwitchedProtocols`` for a 101: neither a WSGI server nor this
    HTTP transport can carry the new protocol (WebSockets have their own).
    """
    if head.status == 101:
        raise SwitchedProtocols()
    return not head.interim


def reusable_after(head: ResponseHead, *, complete: bool) -> bool:
    """May the connection carry another request once this answer is over?

    Only when its body was read to its framed end and the answer allows it;
    an answer stopped early (the client left, the upstream failed) or framed
    by closing the connection leaves it unusable.
    """
    return complete and head.keep_alive


def stream_failure(upstream: object, request: UpstreamRequest, exc: Exception) -> Exception:
    """Log a failure after the head was sent, and the error that aborts the client's answer."""
    logger.error(
        "upstream %s failed mid-response for %s %s: %r",
        upstream,
        request.method,
        request.path,
        exc,
    )
    return UpstreamStreamError(str(exc))


def client_framing(head: ResponseHead) -> Headers:
    """The answer's headers for the client: one Content-Length, as validated."""
    # Duplicates were checked equal by parse_response_head, which also
    # noticed when the one field already reads the length.
    if head.framing != "length" or head.exact_length_field:
        return head.headers
    headers: Headers = []
    seen = False
    for name, value in head.headers:
        if name.lower() == "content-length":
            if seen:
                continue
            seen, value = True, str(head.length)
        headers.append((name, value))
    return headers
