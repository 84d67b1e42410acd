"""Who answers a request: Django, or Flask through the forwarder.

The rule, in order: an explicit pattern in ``STRANGLER["ROUTES"]`` wins (the
first that matches, in the order written); otherwise a path Django's URLconf
resolves is Django's; everything else is Flask's.

Nothing here appends a slash: a Flask route ``/foo`` must reach Flask, not be
redirected by Django's ``APPEND_SLASH`` to a ``/foo/`` that only Django has.
"""

from __future__ import annotations

import re
from typing import Literal

from django.http import HttpRequest
from django.urls import Resolver404, resolve

from .conf import conf_cache, get_conf

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
    return re.compile(regex + tail)


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
    """Return who answers ``request``: ``"django"`` or ``"flask"``."""
    path = request.path_info
    for regex, owner in compiled_routes():
        if regex.fullmatch(path):
            return owner
    try:
        resolve(path, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return "flask"
    return "django"
