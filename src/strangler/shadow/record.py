"""Record a sample of safe forwarded requests, for ``strangler_replay`` before a route ships.

Opt-in (``SHADOW["RECORD"]``, a share of requests; ``RECORD_ROUTES`` to
narrow it). On the request path: the sampling decision, a copy of the
method, target and headers, and the user it runs as (read once and shared
with the identity signer, so with identity on it costs no extra query).
Redaction and the write happen in a shadow worker. When the queue is full
the recording is skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections
from django.http import HttpRequest

from ..forwarding.headers import headers_from_environ
from ..forwarding.messages import request_target
from ..identity.issuer import load_user
from .live import worker_pool
from .redact import redact_headers, redact_target
from .settings import SAFE_METHODS, ShadowConfigError, shadow_settings

_random = random.Random()  # noqa: S311 (sampling, not security)


def wants_recording(request: HttpRequest) -> bool:
    """Is ``request``, about to be forwarded, among those to record? No I/O."""
    try:
        conf = shadow_settings()
    except ShadowConfigError:
        return False  # manage.py check reports it
    if conf.record <= 0 or request.method not in SAFE_METHODS:
        return False
    if conf.record < 1 and _random.random() >= conf.record:
        return False
    return conf.records(request.path_info)


def record(request: HttpRequest) -> None:
    """Queue a recording of ``request``; reads its user (Django code runs). Never blocks."""
    # Who it runs as is read now: a worker reading the session later could find the
    # user logged out by then. Set on the request, so the identity signer (when on)
    # reuses it instead of reading the session a second time.
    user = load_user(request)
    request.user = user
    recording = _Recording(
        request,
        method=request.method or "GET",
        target=request_target(request.META),
        headers=headers_from_environ(request.META),
        user=user,
    )
    worker_pool().submit(recording.save)


def record_forwarded(request: HttpRequest) -> None:
    """Maybe record ``request``, which is about to be forwarded to Flask (the middleware)."""
    if wants_recording(request):
        record(request)


@dataclass
class _Recording:
    request: HttpRequest
    method: str
    target: str
    headers: list[tuple[str, str]]
    user: Any

    def save(self) -> None:
        # Imported here: this module is imported by the WSGI entry before apps are ready.
        from .models import RecordedRequest
        from .store import keep_newest

        try:
            conf = shadow_settings()
            user = self.user
            authenticated = bool(getattr(user, "is_authenticated", False))
            RecordedRequest.objects.create(
                route=self.request.path_info[:500],
                method=self.method,
                target=redact_target(self.target, conf.redact)[:2000],
                headers=redact_headers(self.headers, conf.redact),
                user_id=str(user.pk) if authenticated else "",
                username=user.get_username() if authenticated else "",
            )
            keep_newest(RecordedRequest, conf.record_keep)
        finally:
            close_old_connections()
