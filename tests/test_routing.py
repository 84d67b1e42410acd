from __future__ import annotations

import pytest
from django.test import RequestFactory

from strangler.routing import RoutePatternError, compile_pattern, decide


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
    ],
)
def test_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_pattern(pattern).fullmatch(path)) is matches


def test_pattern_must_be_a_path() -> None:
    with pytest.raises(RoutePatternError, match="must be a path starting with '/'"):
        compile_pattern("reports/**")


def test_decision_order(settings, rf: RequestFactory) -> None:
    settings.STRANGLER = {"ROUTES": {"/ported/": "flask", "/ported/**": "django"}}
    assert decide(rf.get("/ported/")) == "flask"  # first rule wins
    assert decide(rf.get("/ported/more")) == "django"
    assert decide(rf.get("/items/3/")) == "django"  # the URLconf resolves it
    assert decide(rf.get("/items/x/")) == "flask"  # it does not
    assert decide(rf.get("/ported")) == "django"  # "/x/**" covers "/x" itself
    settings.STRANGLER = {}
    assert decide(rf.get("/ported")) == "flask"  # no slash appended


def test_unknown_owner_is_refused(settings, rf: RequestFactory) -> None:
    settings.STRANGLER = {"ROUTES": {"/a": "nginx"}}
    with pytest.raises(RoutePatternError, match="has owner 'nginx'"):
        decide(rf.get("/a"))
