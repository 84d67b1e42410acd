"""``StranglerMiddleware``: the front door, first in ``MIDDLEWARE``.

It is outermost so that a forwarded answer reaches the client exactly as
Flask sent it: no inner middleware (security headers, sessions, CSRF) sees it
or adds to it, and a forwarded request does not pay for the whole stack.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from django.http import HttpRequest, HttpResponseBase

from .decided import record_decision, recorded_decision
from .forwarding import forward_request
from .forwarding.paths import AmbiguousPath
from .forwarding.response import error_response
from .routing import decide_request
from .shadow.live import answer_in_shadow
from .shadow.record import record_forwarded
from .traffic import HANDED_TO_FLASK, record_request


class StranglerMiddleware:
    """Answer ported routes with Django; forward everything else to Flask."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = perf_counter()
        # The WSGI fast path (strangler.wsgi) may have decided already.
        decision = recorded_decision(request.META)
        if decision is None:
            try:
                decision = decide_request(request)
            except AmbiguousPath as error:
                return error_response(request, error)
            # Inner code (the shadow replay) reads it with recorded_decision().
            record_decision(request.META, decision)
        if decision.owner == "flask":
            record_forwarded(request)  # opt-in, for strangler_replay; never waits
            response = forward_request(request)
        elif decision.owner == "shadow":
            # Django answers; a copy goes to Flask off the request path and is compared.
            response = answer_in_shadow(request, self.get_response)
        else:
            response = self.get_response(request)
        handed = getattr(request, HANDED_TO_FLASK, False)
        record_request(decision, request.method, response.status_code, started, flask=handed)
        return response
