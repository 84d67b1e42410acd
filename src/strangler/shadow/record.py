"""Record a sample of safe forwarded requests, for ``strangler_replay`` before a route ships.

Opt-in (``SHADOW["RECORD"]``, a share of requests; ``RECORD_ROUTES`` to
narrow it). On the request path: the sampling decision, a copy of the
method, target and headers, and the user it runs as (read once and shared
with the identity signer, so with identity on it costs no extra query).
Redaction and the write happen in a shadow worker (``workers.py``: the
front's child process, or a thread). When the queue is full the recording
is skipped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import close_old_connections
from django.http import HttpRequest

from ..forwarding.headers import headers_from_environ
from ..forwarding.messages import request_target
from ..identity.issuer import load_user
from .redact import redact_headers, redact_target
from .settings import SAFE_METHODS, ShadowConfigError, shadow_settings
from .workers import shadow_workers

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
    authenticated = bool(getattr(user, "is_authenticated", False))
    recording = Recording(
        route=request.path_info,
        method=request.method or "GET",
        target=request_target(request.META),
        headers=headers_from_environ(request.META),
        user_id=str(user.pk) if authenticated else "",
        username=user.get_username() if authenticated else "",
    )
    shadow_workers().submit(recording)


def record_forwarded(request: HttpRequest) -> None:
    """Maybe record ``request``, which is about to be forwarded to Flask (the middleware)."""
    if wants_recording(request):
        record(request)


@dataclass(frozen=True)
class Recording:
    """One forwarded request to record, as plain data (secrets still in: redacted when saved)."""

    route: str
    method: str
    target: str
    headers: list[tuple[str, str]]
    user_id: str
    username: str

    @property
    def drop_key(self) -> None:
        """A recording skipped for a full queue is not counted: it is a sample anyway."""
        return None

    def without_bodies(self) -> None:
        """A recording has no body to leave out."""
        return None

    def run(self) -> None:
        """Redact and save, then keep only the newest ``RECORD_KEEP`` recordings."""
        # Imported here: this module is imported by the WSGI entry before apps are ready.
        from .models import RecordedRequest
        from .store import keep_newest

        try:
            conf = shadow_settings()
            RecordedRequest.objects.create(
                route=self.route[:500],
                method=self.method,
                target=redact_target(self.target, conf.redact)[:2000],
                headers=redact_headers(self.headers, conf.redact),
                user_id=self.user_id,
                username=self.username,
            )
            keep_newest(RecordedRequest, conf.record_keep)
        finally:
            close_old_connections()
