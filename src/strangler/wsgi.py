"""A WSGI-level fast path for forwarded requests, behind the same settings.

Django's request handling costs more than a small Flask page does: building
the request and response objects, and the ``request_started`` /
``request_finished`` signals (which walk every database connection). For a
request Django only forwards, none of that is needed. Use this in the
project's ``wsgi.py`` instead of Django's own::

    from strangler.wsgi import get_wsgi_application

    application = get_wsgi_application()

Requests Django answers go to Django's handler unchanged (and
``StranglerMiddleware``, still first in ``MIDDLEWARE``, does not decide
again). Forwarded requests are decided by the same rules, sent by the same
transport with the same headers, and their answer goes straight to the WSGI
server. Django's request signals fire for them only when the signer says
Django code (the session, the user) runs for that request; without this
handler, ``StranglerMiddleware`` alone gives the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from time import perf_counter
from typing import Any

import django
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import request_finished, request_started

from .decided import record_decision
from .forwarding import send_upstream
from .forwarding.errors import ForwardingError
from .forwarding.paths import AmbiguousPath
from .forwarding.response import error_response
from .forwarding.signing import get_signer
from .routing import decide_request
from .shadow.record import record, wants_recording
from .traffic import record_request

StartResponse = Callable[..., Any]


class StranglerWSGIHandler:
    """Forward Flask's requests at the WSGI level; hand the rest to Django."""

    def __init__(self, django_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]):
        self.django_app = django_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # Django rewrites PATH_INFO and SCRIPT_NAME in the environ a request
        # is built from; the original must reach Django's handler untouched.
        request = WSGIRequest(dict(environ))
        try:
            decision = decide_request(request)
        except AmbiguousPath as error:
            return _answer_error(request, error, start_response, finished=False)
        record_decision(environ, decision)
        if decision.owner != "flask":
            return self.django_app(environ, start_response)
        try:
            host = request.get_host()
        except DisallowedHost:
            # Django's own 400 (and its security log line), as without this handler.
            return self.django_app(environ, start_response)
        started = perf_counter()
        # Django code (the session, the user) runs only when the signer or a
        # recording (opt-in, for strangler_replay) needs it.
        recording = wants_recording(request)
        with_signals = recording or get_signer().runs_django_code(request)
        if with_signals:
            request_started.send(sender=self.__class__, environ=environ)
        if recording:
            record(request)
        try:
            upstream = send_upstream(request, host=host)
        except ForwardingError as error:
            body = _answer_error(request, error, start_response, finished=with_signals)
            record_request(decision, request.method, error.status, started)
            return body
        record_request(decision, request.method, upstream.status, started)
        reason = upstream.reason or _default_reason(upstream.status)
        start_response(f"{upstream.status} {reason}", upstream.headers)
        return ForwardedBody(upstream.body, upstream.close, finished=with_signals)


class ForwardedBody:
    """The upstream's body as a WSGI iterable whose ``close()`` releases the upstream."""

    def __init__(self, body: Iterator[bytes], close: Callable[[], None], *, finished: bool):
        self._body = body
        self._close = close
        self._finished = finished

    def __iter__(self) -> Iterator[bytes]:
        return self._body

    def close(self) -> None:
        """Called by the WSGI server when the response is done or the client left."""
        try:
            self._close()
        finally:
            if self._finished:
                request_finished.send(sender=StranglerWSGIHandler)


def get_wsgi_application() -> StranglerWSGIHandler:
    """Django's WSGI application, behind the fast path for forwarded requests."""
    django.setup(set_prefix=False)
    return StranglerWSGIHandler(WSGIHandler())


def _answer_error(
    request: WSGIRequest, error: ForwardingError, start_response: StartResponse, *, finished: bool
) -> list[bytes]:
    response = error_response(request, error)
    if finished:
        response.close()  # sends request_finished
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]


def _default_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status Code"
