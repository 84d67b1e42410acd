"""Send a copy of a Django request to Flask, through the forwarding core, and read the answer.

The copy goes out through the forwarding core (``send_upstream``) exactly as
the front door would forward the original: the same request target, the same
header rules, and the identity the registered signer vouches for (the same
user), so Flask answers as that user would have seen it. Only the body is
new: the client's stream was consumed by Django, so the bytes read
beforehand are replayed.
"""

from __future__ import annotations

import copy
import io
import logging
from dataclasses import dataclass

from django.http import HttpRequest

from ..forwarding import ForwardingError, send_upstream
from .fields import Answer

logger = logging.getLogger("strangler.shadow")


@dataclass(frozen=True)
class FlaskAnswer:
    """Flask's answer, and whether its body was larger than could be compared."""

    answer: Answer
    truncated: bool


def request_copy(request: HttpRequest, body: bytes) -> HttpRequest:
    """A shallow copy of ``request`` whose body stream yields ``body`` again.

    The user, session and resolver match are shared with the original (the
    identity is the same); the environ is the copy's own.
    """
    clone = copy.copy(request)
    meta = dict(request.META)
    meta["wsgi.input"] = io.BytesIO(body)
    if body:
        meta["CONTENT_LENGTH"] = str(len(body))
        meta.pop("HTTP_TRANSFER_ENCODING", None)
    clone.META = meta
    return clone


def ask_flask(request: HttpRequest, body: bytes, *, max_body: int) -> FlaskAnswer | None:
    """Send a copy of ``request`` to Flask; None (logged) when Flask could not be reached.

    At most ``max_body`` bytes of the answer are read; the rest is left
    unread and the upstream connection closed rather than pooled.
    """
    clone = request_copy(request, body)
    try:
        upstream = send_upstream(clone)
    except ForwardingError:
        return None  # send_upstream logged the route, the upstream and the cause
    except Exception:
        logger.exception("shadow: %s %s not sent to Flask", request.method, request.path)
        return None
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        for chunk in upstream.body:
            chunks.append(chunk)
            size += len(chunk)
            if size > max_body:
                truncated = True
                break
    except ForwardingError:
        return None
    finally:
        upstream.close()
    body_read = b"".join(chunks)[:max_body]
    return FlaskAnswer(Answer(upstream.status, upstream.headers, body_read), truncated)
