"""Who answers a request: Django, or Flask through the forwarder.

The rule, in order: an explicit pattern in ``STRANGLER["ROUTES"]`` wins (the
first that matches, in the order written); otherwise a path Django's URLconf
resolves is Django's; everything else is Flask's.

Nothing here appends a slash: a Flask route ``/foo`` must reach Flask, not be
redirected by Django's ``APPEND_SLASH`` to a ``/foo/`` that only Django has.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from .conf import conf_cache, get_conf
from .forwarding.paths import request_path

Owner = Literal["django", "flask"]
OWNERS: tuple[Owner, ...] = ("django", "flask")


class RoutePatternError(ValueError):
    """A ``STRANGLER["ROUTES"]`` entry is malformed; the message says which."""


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a route pattern: ``*`` matches within a segment, ``**`` across them.

    A pattern ending in ``/**`` also matches the path without that suffix, so
    ``/reports/**`` covers ``/reports`` too.
    """
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise RoutePatternError(f"route pattern {pattern!r} must be a path starting with '/'")
    tail = ""
    body = pattern
    if body.endswith("/**"):
        body, tail = body[:-3], "(?:/.*)?"
    parts = re.split(r"(\*\*|\*)", body)
    regex = "".join(
        ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts
    )
    return re.compile(regex + tail, re.DOTALL)


@conf_cache
def compiled_routes() -> list[tuple[re.Pattern[str], Owner]]:
    """``STRANGLER["ROUTES"]`` compiled, in order; raises ``RoutePatternError``."""
    routes = get_conf()["ROUTES"]
    if not isinstance(routes, dict):
        raise RoutePatternError("ROUTES must be a dict of path pattern -> owner")
    compiled = []
    for pattern, owner in routes.items():
        if owner not in OWNERS:
            raise RoutePatternError(
                f"route {pattern!r} has owner {owner!r}; expected one of {', '.join(OWNERS)}"
            )
        compiled.append((compile_pattern(pattern), owner))
    return compiled


def decide(request: HttpRequest) -> Owner:
    """Return who answers ``request``: ``"django"`` or ``"flask"``.

    Decided on the canonical path, the one Flask will route on
    (``strangler.forwarding.paths``); raises ``AmbiguousPath`` for a path the two
    frameworks could read differently.
    """
    return decide_path(request_path(request), getattr(request, "urlconf", None))


@lru_cache(maxsize=4096)
def decide_path(path: str, urlconf: Any = None) -> Owner:
    """Who answers ``path`` (decoded, as Django's ``request.path_info``).

    Cached: the answer depends only on the path, the rules and the URLconf,
    and resolving a path Django does not know (most forwarded requests)
    costs an exception. The cache is dropped when ``STRANGLER`` or
    ``ROOT_URLCONF`` changes.
    """
    for regex, owner in compiled_routes():
        if regex.fullmatch(path):
            return owner
    try:
        resolve(path, urlconf=urlconf)
    except Resolver404:
        return "flask"
    return "django"


@receiver(setting_changed)
def _forget_decisions(*, setting: str, **kwargs: Any) -> None:
    if setting in ("STRANGLER", "ROOT_URLCONF"):
        decide_path.cache_clear()
