"""Answers as fields (strangler/shadow/fields.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler.shadow.fields import Answer, Leaf, answer_fields, body_fields, surely_same

JSON = [("Content-Type", "application/json")]
HTML = [("Content-Type", "text/html; charset=utf-8")]


def json_answer(document: object, status: int = 200) -> Answer:
    return Answer(status, JSON, json.dumps(document).encode())


def test_json_is_flattened_by_key_and_index_with_typed_leaves() -> None:
    fields = body_fields(json_answer({"items": [{"id": 1, "ok": True}], "none": None, "e": {}}))
    assert fields == {
        ("body", "items", 0, "id"): Leaf("number", 1),
        ("body", "items", 0, "ok"): Leaf("boolean", True),
        ("body", "none"): Leaf("null", None),
        ("body", "e"): Leaf("object", None),
    }
    assert Leaf("boolean", True) != Leaf("number", 1)


def test_status_and_only_the_chosen_headers_are_fields() -> None:
    answer = Answer(201, [("Content-Type", "text/plain"), ("Date", "now"), ("X-A", "1")], b"")
    assert answer_fields(answer, ["Content-Type", "X-Missing"]) == {
        ("status",): Leaf("number", 201),
        ("header", "content-type"): Leaf("text", "text/plain"),
    }


def test_html_compares_as_a_tree_whatever_the_indentation() -> None:
    compact = b'<ul class="b a"><li>one</li><li>two <b>2</b></li></ul><br>'
    indented = (
        b'<ul  class="a b">\n  <li>one</li>\n  <li>\n    two\n    <b>2</b>\n  </li>\n</ul>\n<br/>'
    )
    first = body_fields(Answer(200, HTML, compact))
    assert first == body_fields(Answer(200, HTML, indented))
    assert first[("body", "ul", "li", 1, "#text")] == Leaf("text", "two")
    assert first[("body", "ul", "@class")] == Leaf("text", "a b")


def test_html_unclosed_elements_and_stray_end_tags_do_not_break_the_tree() -> None:
    # Not a browser's tree (the second <p> nests), but the same on both sides.
    fields = body_fields(Answer(200, HTML, b"<p>one<p>two</div><span>x</span></p>"))
    assert fields[("body", "p", "p", "#text")] == Leaf("text", "two")
    assert fields[("body", "p", "p", "span", "#text")] == Leaf("text", "x")
    assert fields[("body", "p", "#text")] == Leaf("text", "one")


def test_text_is_compared_by_line_with_line_endings_normalised() -> None:
    crlf = body_fields(Answer(200, [("Content-Type", "text/plain")], b"a  \r\nb\r\n"))
    assert crlf == body_fields(Answer(200, [("Content-Type", "text/plain")], b"a\nb"))


def test_binary_and_broken_bodies() -> None:
    png = body_fields(Answer(200, [("Content-Type", "image/png")], b"\x89PNG\x00"))
    assert list(png) == [("body", "sha256")]
    broken = body_fields(Answer(200, JSON, b"{not json"))
    assert broken == {("body", 0): Leaf("text", "{not json")}


def test_json_nested_too_deep_for_python_is_compared_by_digest() -> None:
    # A hostile (or broken) upstream must not crash the shadow worker.
    for depth in (990, 2_000, 100_000):
        deep = b"[" * depth + b"]" * depth
        fields = body_fields(Answer(200, JSON, deep))
        assert list(fields) in ([("body", "sha256")], [("body",) + (0,) * (depth - 1)])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=15,
)


@given(json_values)
def test_json_key_order_never_matters(document: object) -> None:
    def reorder(value: object) -> object:
        if isinstance(value, dict):
            return {k: reorder(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reorder(v) for v in value]
        return value

    assert body_fields(json_answer(document)) == body_fields(json_answer(reorder(document)))


def raw_json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, [*JSON, *(headers or {}).items()], body)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (raw_json(b'{"a": 1, "b": [true]}'), raw_json(b'{"b":[true],"a":1}'), True),
        (raw_json(b'{"a": 1}', 200, {"ETag": "x"}), raw_json(b'{"a":1}', 200, {"ETag": "y"}), True),
        (raw_json(b'{"a": true}'), raw_json(b'{"a": 1}'), False),
        (raw_json(b'{"a": 1}'), raw_json(b'{"a": 1.0}'), False),  # fields decide
        (raw_json(b'{"a": 1}'), raw_json(b'{"a": 1}', 201), False),
        (raw_json(b'{"a": 1}'), raw_json(b'{"a": 1}', 200, {"Cache-Control": "no"}), False),
        (raw_json(b'{"a": 1}'), Answer(200, [("Content-Type", "text/plain")], b'{"a": 1}'), False),
        (raw_json(b"{broken"), raw_json(b"{broken"), True),
        (raw_json(b"{broken"), raw_json(b"{broken "), False),
    ],
)
def test_surely_same_only_when_no_field_can_differ(
    first: Answer, second: Answer, same: bool
) -> None:
    headers = ["Content-Type", "Cache-Control"]
    assert surely_same(first, second, headers) is same
    if same:  # never hides what the fields would show
        assert answer_fields(first, headers) == answer_fields(second, headers)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([1.0, 0.5])
    | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=8,
)


@given(JSON_VALUES, JSON_VALUES)
def test_surely_same_never_hides_a_field_difference(first: object, second: object) -> None:
    a = Answer(200, JSON, json.dumps(first).encode())
    b = Answer(200, JSON, json.dumps(second, indent=1).encode())
    if surely_same(a, b, ["Content-Type"]):
        assert answer_fields(a, ["Content-Type"]) == answer_fields(b, ["Content-Type"])
    assert surely_same(a, Answer(200, JSON, json.dumps(first, indent=2).encode()), [])
