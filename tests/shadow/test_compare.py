"""The comparison of two answers (strangler/shadow/compare.py)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from strangler.shadow.compare import MAX_LISTED, compare
from strangler.shadow.fields import Answer
from strangler.shadow.paths import PathSet

HEADERS = ["Content-Type"]


def json_answer(document: object, status: int = 200) -> Answer:
    return Answer(status, [("Content-Type", "application/json")], json.dumps(document).encode())


ITEMS = {"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "total": 2}


def test_a_faithful_port_gives_no_difference() -> None:
    reordered_keys = {"total": 2, "items": [{"name": "a", "id": 1}, {"name": "b", "id": 2}]}
    result = compare(json_answer(reordered_keys), json_answer(ITEMS), headers=HEADERS)
    assert not result.differs
    assert result.fields == []


def test_a_dropped_field_is_named() -> None:
    dropped = {"items": [{"id": 1}, {"id": 2, "name": "b"}], "total": 2}
    result = compare(json_answer(dropped), json_answer(ITEMS), headers=HEADERS)
    assert result.fields == ["body.items[0].name"]
    assert result.values == {"body.items[0].name": [None, '"a"']}


def test_another_order_is_caught() -> None:
    items: list[dict[str, object]] = ITEMS["items"]  # type: ignore[assignment]
    swapped = {"items": items[::-1], "total": 2}
    result = compare(json_answer(swapped), json_answer(ITEMS), headers=HEADERS)
    assert set(result.fields) == {
        "body.items[0].id",
        "body.items[0].name",
        "body.items[1].id",
        "body.items[1].name",
    }


def test_status_type_and_header_changes_are_caught() -> None:
    assert compare(json_answer(ITEMS, 404), json_answer(ITEMS), headers=HEADERS).fields == [
        "status"
    ]
    as_text = Answer(200, [("Content-Type", "text/plain")], json.dumps(ITEMS).encode())
    assert "header.content-type" in compare(as_text, json_answer(ITEMS), headers=HEADERS).fields
    typed = compare(json_answer({"ok": 1}), json_answer({"ok": True}), headers=HEADERS)
    assert typed.fields == ["body.ok"]


def test_ignored_paths_and_noise_are_left_out() -> None:
    django = json_answer({"at": "2026-01-01", "id": "x", "v": 1})
    flask = json_answer({"at": "2026-02-02", "id": "y", "v": 2})
    result = compare(
        django,
        flask,
        headers=HEADERS,
        ignore=PathSet.from_patterns(["body.at"]),
        noise=PathSet(exact=frozenset({"body.id"})),
    )
    assert result.fields == ["body.v"]


def test_a_wholly_different_answer_is_listed_up_to_a_limit() -> None:
    django = json_answer({f"k{i}": i for i in range(MAX_LISTED + 7)})
    result = compare(django, json_answer({}), headers=HEADERS)
    assert len(result.fields) == MAX_LISTED
    assert result.more == 8  # seven more keys, and Flask's empty object


@given(st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=6))
def test_an_answer_equals_itself_and_any_change_shows(document: dict[str, object]) -> None:
    assert not compare(json_answer(document), json_answer(document), headers=HEADERS).differs
    changed = {**document, "extra": None}
    assert compare(json_answer(changed), json_answer(document), headers=HEADERS).differs
