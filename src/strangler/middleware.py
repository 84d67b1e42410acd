"""``StranglerMiddleware``: the front door, first in ``MIDDLEWARE``.

It is outermost so that a forwarded answer reaches the client exactly as
Flask sent it: no inner middleware (security headers, sessions, CSRF) sees it
or adds to it, and a forwarded request does not pay for the whole stack.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .decided import recorded_decision
from .forwarding import forward_request
from .forwarding.paths import AmbiguousPath
from .forwarding.response import error_response
from .routing import decide
from .shadow.record import record_forwarded


class StranglerMiddleware:
    """Answer ported routes with Django; forward everything else to Flask."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # The WSGI fast path (strangler.wsgi) may have decided already.
        decided = recorded_decision(request.META)
        if decided is None:
            try:
                decided = decide(request)
            except AmbiguousPath as error:
                return error_response(request, error)
        if decided == "flask":
            record_forwarded(request)  # opt-in, for strangler_replay; never waits
            return forward_request(request)
        return self.get_response(request)
