"""The rule syntax shared by ``STRANGLER["ROUTES"]`` and ``RouteSwitch``: ``"[METHODS ]PATTERN"``.

``*`` matches within one path segment, ``**`` across segments; methods are
comma-separated. Imports nothing from Django, so the switch table and the
routing decision can both use it without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Owner = Literal["django", "flask", "shadow"]
OWNERS: tuple[Owner, ...] = ("django", "flask", "shadow")

# RFC 9110 §5.6.2 token characters; methods are case-sensitive, we upper-case
# what users write because every registered method is upper-case.
_METHOD = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class RoutePatternError(ValueError):
    """A route rule is malformed; the message says which and why."""


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


def parse_methods(text: str) -> frozenset[str] | None:
    """``"GET,HEAD"`` → ``{"GET", "HEAD"}``; empty → ``None`` (every method).

    A rule naming GET also covers HEAD: Django and Flask both answer HEAD with
    the GET view, so splitting them would send half a route's traffic apart.
    """
    names = [name.strip().upper() for name in text.split(",") if name.strip()]
    if not names:
        return None
    for name in names:
        if not _METHOD.match(name):
            raise RoutePatternError(f"{name!r} is not an HTTP method")
    methods = set(names)
    if "GET" in methods:
        methods.add("HEAD")
    return frozenset(methods)


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: an optional method set, a path pattern, an owner."""

    pattern: str
    methods: frozenset[str] | None
    owner: Owner
    regex: re.Pattern[str]

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule covers ``method`` on ``path``."""
        return (self.methods is None or method in self.methods) and bool(self.regex.fullmatch(path))


def parse_rule(key: str, owner: object) -> Rule:
    """Compile a ``ROUTES`` entry: key ``"[METHODS ]PATTERN"``, value an owner."""
    if not isinstance(key, str):
        raise RoutePatternError(f"route {key!r} must be a string")
    methods_text, _, pattern = key.strip().rpartition(" ")
    return make_rule(pattern, methods_text, owner, where=f"route {key!r}")


def make_rule(pattern: str, methods: str, owner: object, *, where: str) -> Rule:
    """Compile a pattern, a comma-separated method list and an owner into a ``Rule``."""
    if owner not in OWNERS:
        raise RoutePatternError(f"{where} has owner {owner!r}; expected one of {', '.join(OWNERS)}")
    try:
        method_set = parse_methods(methods)
    except RoutePatternError as exc:
        raise RoutePatternError(f"{where}: {exc}") from None
    return Rule(pattern, method_set, owner, compile_pattern(pattern))
