"""Who answers a request: Django, Flask through the forwarder, or Django with a shadow replay.

The decision is made on the method and the path, in this order:

1. a run-time switch (``RouteSwitch`` rows, shared through the cache; see
   ``strangler.switches``): the first that matches wins;
2. a deploy-time rule in ``STRANGLER["ROUTES"]`` (``"[METHODS ]PATTERN"``), the
   first that matches, in the order written;
3. Django's ``STATIC_URL`` and ``MEDIA_URL`` prefixes (Django's files);
4. a path Django's URLconf resolves, *if its view allows the method*;
5. everything else is Flask's.

Steps 2-5 depend only on the method, the path and the settings, so they are
cached per (method, path); a switch is looked up in an in-memory table that
``strangler.switches`` refreshes at most once per ``SWITCH_TTL``.

Nothing here appends a slash: a Flask route ``/foo`` must reach Flask, not be
redirected by Django's ``APPEND_SLASH`` to a ``/foo/`` that only Django has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import Resolver404, ResolverMatch, resolve

from .conf import conf_cache, get_conf
from .forwarding.paths import request_path
from .inventory import flask_rule_for
from .rules import OWNERS, Owner, RoutePatternError, Rule, compile_pattern, make_rule, parse_rule
from .switches import current_switches

__all__ = [
    "OWNERS",
    "Decision",
    "Owner",
    "RoutePatternError",
    "Rule",
    "compile_pattern",
    "decide",
    "decide_path",
    "decide_request",
    "make_rule",
    "parse_rule",
    "view_methods",
]


@conf_cache
def compiled_routes() -> list[Rule]:
    """``STRANGLER["ROUTES"]`` compiled, in order; raises ``RoutePatternError``."""
    routes = get_conf()["ROUTES"]
    if not isinstance(routes, dict):
        raise RoutePatternError("ROUTES must be a dict of '[METHODS ]PATTERN' -> owner")
    return [parse_rule(key, owner) for key, owner in routes.items()]


@dataclass(frozen=True, slots=True)
class Decision:
    """Who answers a request, and the route it counts under in traffic.

    ``route`` is the Flask rule (``/users/<int:id>``) when the Flask app is
    known and matches, else the Django pattern, else the rule's pattern, so
    traffic is grouped by route and not by raw path.
    ``source`` says which step decided: ``switch``, ``rule``, ``static``,
    ``urlconf`` or ``default``.
    """

    owner: Owner
    route: str
    source: str


def decide(
    method: str,
    path: str,
    *,
    urlconf: Any = None,
    sticky_key: str | Callable[[], str | None] | None = None,
) -> Decision:
    """Who answers ``method`` on ``path`` (the decoded path Django and Flask route on).

    ``sticky_key`` (a session or user identifier, or a callable returning one,
    called only when a canary switch matches) places the request in a
    percentage canary's share; without one, a canary sends it to Flask.
    """
    static = decide_path(method, path, urlconf)
    switch = current_switches().first(method, path)
    if switch is None:
        return static
    if switch.percent >= 100:
        return Decision(switch.rule.owner, static.route, "switch")
    key = sticky_key() if callable(sticky_key) else sticky_key
    return Decision(switch.owner_for(key), static.route, "switch")


def decide_request(request: HttpRequest) -> Decision:
    """``decide`` for a Django request: its method, canonical path and canary key.

    Decided on the canonical path, the one Flask will route on
    (``strangler.forwarding.paths``); raises ``AmbiguousPath`` for a path the two
    frameworks could read differently.
    """
    return decide(
        request.method or "GET",
        request_path(request),
        urlconf=getattr(request, "urlconf", None),
        # Parsing cookies costs: only a matching canary switch asks for the key.
        sticky_key=lambda: sticky_key(request.COOKIES, request.META),
    )


def sticky_key(cookies: dict[str, str], meta: dict[str, Any]) -> str | None:
    """What keeps a client in the same canary share: its session cookie, else its address.

    Read from the cookie, not the session, so the front door does not load a
    session (a database or cache read) per request.
    """
    session = cookies.get(settings.SESSION_COOKIE_NAME)
    if session:
        return session
    address = meta.get("REMOTE_ADDR")
    return str(address) if address else None


@lru_cache(maxsize=4096)
def decide_path(method: str, path: str, urlconf: Any = None) -> Decision:
    """Steps 2-5 of the decision (everything but switches), cached per (method, path).

    Cached: the answer depends only on the method, the path, the rules and the
    URLconf, and resolving a path Django does not know (most forwarded
    requests) costs an exception. Dropped when ``STRANGLER``, ``ROOT_URLCONF``,
    ``STATIC_URL`` or ``MEDIA_URL`` changes.
    """
    try:
        match: ResolverMatch | None = resolve(path, urlconf=urlconf)
    except Resolver404:
        match = None
    # The traffic label: bounded by the app's routes, never the raw path.
    route = flask_rule_for(method, path) or (
        "/" + match.route if match is not None and match.route is not None else None
    )
    for rule in compiled_routes():
        if rule.matches(method, path):
            return Decision(rule.owner, route or rule.pattern, "rule")
    for prefix in _django_file_prefixes():
        if path.startswith(prefix):
            return Decision("django", route or prefix + "**", "static")
    if match is None:
        return Decision("flask", route or "(unmatched)", "default")
    allowed = view_methods(match.func)
    if allowed is not None and method not in allowed:
        return Decision("flask", route or "(unmatched)", "default")
    return Decision("django", route or path, "urlconf")


def _django_file_prefixes() -> tuple[str, ...]:
    # Only a path prefix ("/static/"), not a URL on another host (a CDN).
    prefixes = []
    for name in ("STATIC_URL", "MEDIA_URL"):
        value = getattr(settings, name, None)
        if isinstance(value, str) and value.startswith("/") and value != "/":
            prefixes.append(value)
    return tuple(prefixes)


# The view attribute that keeps a view's refused methods with Django (see view_methods).
FORWARD_REFUSED_METHODS = "forward_refused_methods"


def view_methods(view: Callable[..., Any]) -> frozenset[str] | None:
    """The HTTP methods a Django view accepts, or ``None`` when it accepts any.

    Reads class-based views' handlers (``http_method_names`` with a method
    defined for each; ``head`` follows ``get``, ``options`` is always there)
    and ``require_http_methods`` (and ``require_GET``, ``require_POST``,
    ``require_safe``), which keeps its list in the wrapper's closure.

    A view (or its class) with ``forward_refused_methods = False`` answers
    every method itself, its 405 included: for a route Flask must no longer
    see at all (Django's logout refusing HEAD, so a link checker cannot reach
    Flask's old logout either).
    """
    view_class = getattr(view, "view_class", None)
    if getattr(view_class or view, FORWARD_REFUSED_METHODS, True) is False:
        return None
    if view_class is not None:
        names = {
            name.upper()
            for name in view_class.http_method_names
            if hasattr(view_class, name) or (name == "head" and hasattr(view_class, "get"))
        }
        return frozenset(names)
    func: Any = view
    while func is not None:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = func.__closure__[code.co_freevars.index("request_method_list")]
            return frozenset(str(method) for method in cell.cell_contents)
        func = getattr(func, "__wrapped__", None)
    return None


def forget_decisions() -> None:
    """Drop the cached decisions (after the rules, the URLconf or the Flask app changed)."""
    decide_path.cache_clear()


@receiver(setting_changed)
def _forget_decisions(*, setting: str, **kwargs: Any) -> None:
    if setting in ("STRANGLER", "ROOT_URLCONF", "STATIC_URL", "MEDIA_URL"):
        forget_decisions()
