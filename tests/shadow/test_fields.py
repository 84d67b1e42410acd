"""Answers as fields (strangler/shadow/fields.py)."""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler.shadow import fields
from strangler.shadow.compare import differing_paths
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


# --- surely_same against the fields, on JSON spelled every way a sender may spell it ---
#
# A document is a tree: ("null",), ("bool", b), ("number", group, index),
# ("string", s), ("array", [tree]), ("object", [(key, tree)]) (keys may repeat:
# the last wins). It is rendered as text with random spacing, key order,
# string escapes, overridden duplicate keys and (optionally) number spellings;
# a pair is the same tree rendered twice, or a tree and a copy with one node
# turned into something a loose comparison would confuse with it.

# Spellings of one number each, as Python's json reads them (the fields decide
# which are the same: 2**53 + 1 is not the float it rounds to).
NUMBERS = [
    ["0", "-0", "0.0", "-0.0", "0e0", "0E+3"],
    ["1", "1.0", "1e0", "1E0", "10e-1", "0.1e1", "1.00"],
    ["-2", "-2.0", "-2e0", "-0.2E1"],
    ["1.5", "15e-1", "0.15e1"],
    ["1e400", "2E999"],
    ["9007199254740993", "9007199254740993.0", "9007199254740992"],
]
ODD_CHARACTERS = '"\\/\b\f\n\r\t\x00\x1f\x7fé€\U0001f600\ud800\udc00\ufeff'
SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f"}
SHORT_ESCAPES.update({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
Tree = tuple[Any, ...]

STRINGS = st.text(st.sampled_from(ODD_CHARACTERS) | st.characters(), max_size=4)
KEYS = st.text(st.sampled_from('ab"é'), max_size=2)
JSON_TREES: st.SearchStrategy[Tree] = st.recursive(
    st.just(("null",))
    | st.tuples(st.just("bool"), st.booleans())
    | st.tuples(st.just("number"), st.integers(0, len(NUMBERS) - 1), st.integers(0, 6))
    | st.tuples(st.just("string"), STRINGS),
    lambda inner: (
        st.tuples(st.just("array"), st.lists(inner, max_size=3))
        | st.tuples(st.just("object"), st.lists(st.tuples(KEYS, inner), max_size=3))
    ),
    max_leaves=12,
)


def render(tree: Tree, rnd: random.Random, respell_numbers: bool = True) -> bytes:
    # surrogatepass: json.loads reads a lone surrogate back from such bytes.
    return _text(tree, rnd, respell_numbers).encode("utf-8", "surrogatepass")


def _text(tree: Tree, rnd: random.Random, respell: bool) -> str:
    kind = tree[0]
    if kind == "null":
        return "null"
    if kind == "bool":
        return "true" if tree[1] else "false"
    if kind == "number":
        spellings = NUMBERS[tree[1]]
        return rnd.choice(spellings) if respell else spellings[tree[2] % len(spellings)]
    if kind == "string":
        return _string(tree[1], rnd)
    if kind == "array":
        items = [_text(item, rnd, respell) for item in tree[1]]
        return "[" + _spaced(items, rnd) + "]"
    members = dict(tree[1])  # the last of a repeated key wins, as for json.loads
    keys = list(members)
    rnd.shuffle(keys)
    parts = []
    for key in keys:
        if rnd.random() < 0.2:  # an earlier duplicate, overridden by the real one
            decoy = rnd.choice([("bool", True), ("number", 1, 0), ("string", "1"), ("null",)])
            parts.append(_member(key, decoy, rnd, respell))
        parts.append(_member(key, members[key], rnd, respell))
    return "{" + _spaced(parts, rnd) + "}"


def _member(key: str, value: Tree, rnd: random.Random, respell: bool) -> str:
    return _string(key, rnd) + _space(rnd) + ":" + _space(rnd) + _text(value, rnd, respell)


def _spaced(parts: list[str], rnd: random.Random) -> str:
    return ",".join(_space(rnd) + part + _space(rnd) for part in parts) or _space(rnd)


def _space(rnd: random.Random) -> str:
    return rnd.choice(["", "", " ", "\n", "\t", "\r\n  "])


def _string(value: str, rnd: random.Random) -> str:
    out = []
    for char in value:
        spellings = [_unicode_escape(char, rnd)]
        if char in SHORT_ESCAPES:
            spellings.append(SHORT_ESCAPES[char])
        if char not in '"\\' and char >= " ":
            spellings.append(char)
        out.append(rnd.choice(spellings))
    return '"' + "".join(out) + '"'


def _unicode_escape(char: str, rnd: random.Random) -> str:
    code = ord(char)
    units = [code] if code < 0x10000 else [0xD7C0 + (code >> 10), 0xDC00 + (code & 0x3FF)]
    return "".join(rnd.choice(["\\u%04x", "\\u%04X"]) % unit for unit in units)


def confused(tree: Tree, rnd: random.Random) -> Tree:
    """The tree with one node (anywhere) replaced by one a loose comparison confuses with it."""
    paths = list(_node_paths(tree, ()))
    return _replace(tree, rnd.choice(paths), lambda node: rnd.choice(_lookalikes(node)))


def _lookalikes(tree: Tree) -> list[Tree]:
    kind = tree[0]
    if kind == "null":
        return [("bool", False), ("number", 0, 0), ("string", ""), ("array", []), ("object", [])]
    if kind == "bool":
        return [("number", int(tree[1]), 0), ("number", int(tree[1]), 1), ("bool", not tree[1])]
    if kind == "number":
        group, index = tree[1], tree[2]
        spelled = NUMBERS[group][index % len(NUMBERS[group])]
        other = ("number", (group + 1) % len(NUMBERS), index)
        return [("string", spelled), ("bool", True), ("bool", False), ("null",), other]
    if kind == "string":
        text = tree[1]
        return [("string", text + "x"), ("string", text[1:]), ("number", 1, 0), ("null",)]
    items = tree[1]
    if kind == "array":
        wrapped = ("array", [tree])
        return [("object", []), ("array", items[::-1]), ("array", items[:-1]), wrapped]
    renamed = ("object", [(key + "a", value) for key, value in items])
    return [("array", [value for _, value in items]), ("object", items[:-1]), renamed]


def _node_paths(tree: Tree, path: tuple[int, ...]) -> Any:
    yield path
    if tree[0] in ("array", "object"):
        for index, item in enumerate(tree[1]):
            child = item if tree[0] == "array" else item[1]
            yield from _node_paths(child, (*path, index))


def _replace(tree: Tree, path: tuple[int, ...], change: Callable[[Tree], Tree]) -> Tree:
    if not path:
        return change(tree)
    items = list(tree[1])
    if tree[0] == "array":
        items[path[0]] = _replace(items[path[0]], path[1:], change)
    else:
        key, value = items[path[0]]
        items[path[0]] = (key, _replace(value, path[1:], change))
    return (tree[0], items)


COMPARED = ["Content-Type"]


@settings(max_examples=500)
@given(JSON_TREES, st.randoms(), st.randoms(), st.booleans(), st.booleans())
def test_surely_same_never_says_same_when_the_fields_differ(
    tree: Tree,
    first_spelling: random.Random,
    second_spelling: random.Random,
    confuse: bool,
    respell_numbers: bool,
) -> None:
    # The rule compare() relies on: a True skips the field-by-field comparison.
    other = confused(tree, second_spelling) if confuse else tree
    first = raw_json(render(tree, first_spelling, respell_numbers=False))
    second = raw_json(render(other, second_spelling, respell_numbers))
    if surely_same(first, second, COMPARED):
        assert not differing_paths(answer_fields(first, COMPARED), answer_fields(second, COMPARED))


@given(JSON_TREES, st.randoms(), st.randoms())
def test_surely_same_whatever_the_spacing_key_order_escapes_and_duplicates(
    tree: Tree, first_spelling: random.Random, second_spelling: random.Random
) -> None:
    # Only a number spelled another way (1 and 1.0) is left to the fields.
    first = raw_json(render(tree, first_spelling, respell_numbers=False))
    second = raw_json(render(tree, second_spelling, respell_numbers=False))
    assert surely_same(first, second, COMPARED)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Python refuses to read an integer this long (sys.get_int_max_str_digits),
        # so the fields compare both bodies as text, and the text differs.
        (b"[" + b"1" * 5000 + b"]", b"[ " + b"1" * 5000 + b" ]"),
        # Too deep for Python's parser: compared by digest.
        (b"[" * 5000 + b"]" * 5000, b"[" * 5000 + b" " + b"]" * 5000),
    ],
)
def test_surely_same_not_for_json_the_fields_do_not_read_as_json(
    first: bytes, second: bytes
) -> None:
    assert answer_fields(raw_json(first), []) != answer_fields(raw_json(second), [])
    assert not surely_same(raw_json(first), raw_json(second), [])


def test_surely_same_not_when_one_body_is_over_the_structured_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Past the limit a body is compared by its digest, whatever the JSON says.
    small, padded = raw_json(b'{"a": 1}'), raw_json(b'{"a":            1}')
    monkeypatch.setattr(fields, "STRUCTURED_LIMIT", len(small.body))
    assert answer_fields(small, []) != answer_fields(padded, [])
    assert not surely_same(small, padded, [])
    assert not surely_same(padded, small, [])


def test_header_look_ups_are_not_pickled() -> None:
    answer = Answer(200, [("Content-Type", "text/html; charset=latin-1"), ("X-A", "1")], b"x")
    unread = pickle.dumps(answer)
    read = ("text/html", "latin-1", "1")
    assert (answer.media_type, answer.charset, answer.header("x-a")) == read
    assert pickle.dumps(answer) == unread
    copy = pickle.loads(unread)
    assert copy == answer
    assert (copy.media_type, copy.charset, copy.header("X-A")) == read


def test_header_joins_every_value_of_a_name_in_order_whatever_its_case() -> None:
    answer = Answer(200, [("Vary", "Cookie"), ("X-A", "1"), ("vary", "Accept")], b"")
    assert answer.header("VARY") == "Cookie, Accept"
    assert answer.header("x-a") == "1"
    assert answer.header("Content-Type") is None
    assert answer.media_type == ""
    assert answer.charset == "utf-8"
