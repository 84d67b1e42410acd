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
from typing import Any, Literal

Decision = Literal["django", "flask"]

ENVIRON_KEY = "strangler.decided"


def record_decision(environ: MutableMapping[str, Any], owner: Decision) -> None:
    """Note in ``environ`` that ``owner`` answers this request."""
    environ[ENVIRON_KEY] = owner


def recorded_decision(meta: Mapping[str, Any]) -> Decision | None:
    """The decision an outer entry path recorded, or None when nothing decided yet."""
    value = meta.get(ENVIRON_KEY)
    if value == "django" or value == "flask":
        return value  # type: ignore[no-any-return]
    return None
