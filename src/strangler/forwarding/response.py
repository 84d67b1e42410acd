"""Django responses for forwarded answers and for forwarding failures.

Django's ``HttpResponse`` keeps one value per header name and rebuilds
cookies from ``SimpleCookie``, which would merge repeated headers and
re-serialise every ``Set-Cookie`` (dropping attributes it does not know).
Both Django handlers (WSGI and ASGI) emit ``response.items()`` plus
``response.cookies``, so :class:`ForwardedResponse` overrides ``items()`` to
return the upstream's header list untouched and leaves ``cookies`` empty.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import BadHeaderError

from .errors import ForwardingError
from .headers import Headers
from .messages import UpstreamResponse


class ForwardedResponse(StreamingHttpResponse):
    """Flask's answer, streamed to the client as Flask sent it."""

    def __init__(self, upstream: UpstreamResponse, headers: Headers) -> None:
        super().__init__(
            streaming_content=upstream.body,
            status=upstream.status,
            reason=upstream.reason or None,
        )
        self.raw_headers = headers
        # ``self.headers`` mirrors the list (last value wins) for code and tests
        # that read a header the Django way; the list is what gets sent.
        del self.headers["Content-Type"]  # Django's default, not Flask's
        for name, value in headers:
            with contextlib.suppress(BadHeaderError, UnicodeError, ValueError):
                self.headers[name] = value
        # Flask's 4xx/5xx are Flask's to log; Django would log each as its own.
        self._has_been_logged = True
        self._resource_closers.append(upstream.close)  # type: ignore[attr-defined]

    def items(self) -> Iterator[tuple[str, str]]:
        """Every header exactly as received, repeated names and order kept."""
        return iter(self.raw_headers)


def error_response(request: HttpRequest, error: ForwardingError) -> HttpResponse:
    """A short answer saying what failed: JSON when the client accepts JSON."""
    if request.accepts("application/json") and not request.accepts("text/html"):
        body = json.dumps({"error": error.code, "detail": error.reason})
        content_type = "application/json"
    else:
        body = f"{error.reason}\n"
        content_type = "text/plain; charset=utf-8"
    response = HttpResponse(body, status=error.status, content_type=content_type)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    # Logged by the middleware with the route and upstream; do not log twice.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
