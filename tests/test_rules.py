"""The rule syntax: patterns, method lists, owners."""

from __future__ import annotations

import pytest

from strangler.rules import RoutePatternError, compile_pattern, parse_rule


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/reports/**", "/reports", True),
        ("/reports/**", "/reports/2024/q1", True),
        ("/reports/**", "/reportsx", False),
        ("/items/*/edit", "/items/7/edit", True),
        ("/items/*/edit", "/items/7/8/edit", False),
        ("/a.b", "/aXb", False),  # literal dot, not a regex
        ("/exact", "/exact/", False),
        ("/**/export", "/x/y/export", True),
        ("/reports/**", "/reports/a\nb", True),  # a newline cannot end a match early
        ("/items/*", "/items/a\n", True),
    ],
)
def test_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_pattern(pattern).fullmatch(path)) is matches


def test_pattern_must_be_a_path() -> None:
    with pytest.raises(RoutePatternError, match="must be a path starting with '/'"):
        compile_pattern("reports/**")


def test_get_covers_head_but_not_the_reverse() -> None:
    assert parse_rule("GET /a", "django").methods == frozenset({"GET", "HEAD"})
    assert parse_rule("HEAD /a", "django").methods == frozenset({"HEAD"})
    assert parse_rule("/a", "django").methods is None


@pytest.mark.parametrize(
    ("key", "owner_", "message"),
    [
        ("/a", "nginx", "has owner 'nginx'"),
        ("GET;POST /a", "django", "'GET;POST' is not an HTTP method"),
        ("GET a", "django", "must be a path starting with '/'"),
        ("GET /a b", "django", "'GET /A' is not an HTTP method"),
    ],
)
def test_malformed_rules_are_refused(key: str, owner_: str, message: str) -> None:
    with pytest.raises(RoutePatternError, match=message):
        parse_rule(key, owner_)
