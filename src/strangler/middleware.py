"""``StranglerMiddleware``: the front door, first in ``MIDDLEWARE``.

It is outermost so that a forwarded answer reaches the client exactly as
Flask sent it: no inner middleware (security headers, sessions, CSRF) sees it
or adds to it, and a forwarded request does not pay for the whole stack.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from django.http import HttpRequest, HttpResponseBase

from .forwarding import forward_request
from .identity.issuer import identity_headers
from .routing import Decision, decide_request
from .traffic import record
from .wsgi import DECIDED


class StranglerMiddleware:
    """Answer ported routes with Django; forward everything else to Flask."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = perf_counter()
        # The WSGI fast path (strangler.wsgi) has already decided.
        decision: Decision = request.META.get(DECIDED) or decide_request(request)
        if decision.owner == "flask":
            response = forward_request(request, extra_headers=identity_headers(request))
        else:
            response = self.get_response(request)
        record(
            decision.route,
            request.method or "GET",
            "flask" if decision.owner == "flask" else "django",
            response.status_code,
            perf_counter() - started,
        )
        return response
