"""Field paths and ignore patterns (strangler/shadow/paths.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler.shadow.paths import FieldPatternError, PathSet, parse_pattern, render


def test_render_uses_dots_brackets_and_quotes() -> None:
    assert render(("body", "items", 0, "name")) == "body.items[0].name"
    assert render(("body", "a.b", "c d")) == 'body["a.b"]["c d"]'
    assert render(("header", "content-type")) == "header.content-type"


@given(st.lists(st.one_of(st.text(min_size=1), st.integers(min_value=0)), min_size=1))
def test_a_rendered_path_parses_back_to_itself(segments: list[str | int]) -> None:
    path = ("body", *segments)
    # A key spelled like a wildcard is quoted, so it stays a literal.
    assert parse_pattern(render(path)) == path


@pytest.mark.parametrize(
    ("pattern", "path", "covered"),
    [
        ("body.generated_at", ("body", "generated_at"), True),
        ("body.generated_at", ("body", "generated"), False),
        ("body.items[*].id", ("body", "items", 3, "id"), True),
        ("body.items[*].id", ("body", "items", 3, "name"), False),
        ("body.**.updated_at", ("body", "updated_at"), True),
        ("body.**.updated_at", ("body", "a", 1, "b", "updated_at"), True),
        ("body.meta", ("body", "meta", "request_id"), True),  # below an ignored field
        ("header.date", ("header", "date"), True),
        ('body["a.b"]', ("body", "a.b"), True),
        ('body["a.b"]', ("body", "a", "b"), False),
    ],
)
def test_patterns(pattern: str, path: tuple[str | int, ...], covered: bool) -> None:
    assert PathSet.from_patterns([pattern]).covers(path) is covered


def test_exact_paths_cover_what_lies_below_them() -> None:
    noise = PathSet(exact=frozenset({"body.id"}))
    assert noise.covers(("body", "id"))
    assert noise.covers(("body", "id", "hex"))
    assert not noise.covers(("body", "ids"))


@pytest.mark.parametrize("bad", ["", "  ", ".body", "body..x", "body[", "body[x]", 'body["x]', 3])
def test_unreadable_patterns_are_refused_with_a_message(bad: object) -> None:
    with pytest.raises(FieldPatternError, match="field pattern"):
        parse_pattern(bad)
