"""Record a sample of safe forwarded requests, for ``strangler_replay`` before a route ships.

Opt-in (``SHADOW["RECORD"]``, a share of requests; ``RECORD_ROUTES`` to
narrow it). On the request path only the sampling decision and a copy of
the method, target and headers are made; the user it ran as is looked up,
the headers redacted and the row written by a shadow worker, so recording
costs the user no query. When the queue is full the recording is skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import close_old_connections
from django.http import HttpRequest

from ..forwarding.headers import headers_from_environ
from ..forwarding.messages import request_target
from ..identity.issuer import load_user
from .live import worker_pool
from .redact import redact_headers, redact_target
from .settings import SAFE_METHODS, ShadowConfigError, shadow_settings

_random = random.Random()  # noqa: S311 (sampling, not security)


def record_forwarded(request: HttpRequest) -> None:
    """Maybe record ``request``, which is about to be forwarded to Flask. Never blocks."""
    try:
        conf = shadow_settings()
    except ShadowConfigError:
        return  # manage.py check reports it
    if conf.record <= 0 or request.method not in SAFE_METHODS:
        return
    if conf.record < 1 and _random.random() >= conf.record:
        return
    if not conf.records(request.path_info):
        return
    recording = _Recording(
        request,
        method=request.method or "GET",
        target=request_target(request.META),
        headers=headers_from_environ(request.META),
    )
    worker_pool().submit(recording.save)


@dataclass
class _Recording:
    request: HttpRequest
    method: str
    target: str
    headers: list[tuple[str, str]]

    def save(self) -> None:
        # Imported here: this module is imported by the WSGI entry before apps are ready.
        from .models import RecordedRequest
        from .store import keep_newest

        try:
            conf = shadow_settings()
            user = load_user(self.request)
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
