"""The decision an outer entry path already made, handed on to the middleware.

The WSGI fast path (``strangler.wsgi``) decides who answers before Django's
handler runs; when it hands a request to Django, ``StranglerMiddleware``
must not decide again (a second decision could disagree, and costs a
second lookup). The decision travels in the WSGI environ (Django's
``request.META``) under one key that clients cannot set: servers put client
headers under ``HTTP_`` names only.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from .routing import Decision

ENVIRON_KEY = "strangler.decided"


def record_decision(environ: MutableMapping[str, Any], decision: Decision) -> None:
    """Note in ``environ`` who answers this request (and the route it counts under)."""
    environ[ENVIRON_KEY] = decision


def recorded_decision(meta: Mapping[str, Any]) -> Decision | None:
    """The decision an outer entry path recorded, or None when nothing decided yet."""
    value = meta.get(ENVIRON_KEY)
    return value if isinstance(value, Decision) else None
