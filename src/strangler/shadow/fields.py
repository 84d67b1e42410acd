"""Turn an HTTP answer into named fields, so two answers compare field by field.

An answer becomes a flat ``{path: value}`` dict (paths as in ``paths.py``):

* ``status``, and ``header.<name>`` for each compared header (lower-cased;
  repeated headers joined in order);
* a JSON body structurally: objects by key (key order does not matter, as for
  every JSON reader), lists by index (order matters: a port that sorts
  differently is a difference), leaves typed so ``true`` is not ``1``;
* an HTML body as its element tree: ``body.html.body.ul.li[1].#text``, with
  whitespace collapsed, comments dropped, attributes as ``@name`` and the
  ``class`` tokens sorted, so re-indented markup compares equal;
* a text body line by line (``body[0]``), trailing whitespace and line endings
  normalised; any other body by its SHA-256.

No framework imports.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from .paths import Path

Headers = list[tuple[str, str]]

# Elements that never have content or an end tag (HTML Living Standard §13.1.2).
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_TEXT_TYPES = frozenset({"", "application/xml", "application/javascript"})
_SPACE = re.compile(r"\s+")
# Bodies larger than this are compared by digest only: parsing a huge body
# field by field would hold a worker for long and say little more.
STRUCTURED_LIMIT = 2 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """One side's answer: status, headers (as sent) and the whole body."""

    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """Every value of header ``name`` joined with ``", "`` (None when absent)."""
        lowered = name.lower()
        values = [value for key, value in self.headers if key.lower() == lowered]
        return ", ".join(values) if values else None

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` without parameters, lower-cased (``""`` when absent)."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str:
        """The declared charset, UTF-8 when none is (JSON and most HTML)."""
        match = re.search(r"charset=\"?([\w.:-]+)", self.header("Content-Type") or "", re.I)
        return match.group(1) if match else "utf-8"


@dataclass(frozen=True)
class Leaf:
    """A compared value with its kind, so JSON ``true`` differs from ``1``."""

    kind: str
    value: Any

    def __str__(self) -> str:
        if self.kind in ("object", "array"):
            return "{}" if self.kind == "object" else "[]"
        return json.dumps(self.value) if self.kind != "text" else str(self.value)


Fields = dict[Path, Leaf]


def answer_fields(answer: Answer, headers: Sequence[str]) -> Fields:
    """Every compared field of ``answer``: status, the named headers, the body."""
    fields: Fields = {("status",): Leaf("number", answer.status)}
    for name in headers:
        value = answer.header(name)
        if value is not None:
            fields[("header", name.lower())] = Leaf("text", _SPACE.sub(" ", value).strip())
    fields.update(body_fields(answer))
    return fields


def body_fields(answer: Answer) -> Fields:
    """The body's fields, by what its ``Content-Type`` says it is."""
    body = answer.body
    if not body:
        return {}
    if len(body) > STRUCTURED_LIMIT:
        return _digest(body)
    media = answer.media_type
    is_json = is_json_media(media)
    if is_json:
        try:
            document = json.loads(body)
        except ValueError:
            pass  # compared as text: a broken JSON body is still worth a line diff
        except RecursionError:
            return _digest(body)  # nested deeper than Python's parser goes
        else:
            try:
                return dict(json_fields(document, ("body",)))
            except RecursionError:
                return _digest(body)
    try:
        text = body.decode(answer.charset)
    except (LookupError, UnicodeDecodeError):
        return _digest(body)
    if media in ("text/html", "application/xhtml+xml"):
        return html_fields(text)
    if is_json or media.startswith("text/") or media in _TEXT_TYPES:
        return text_fields(text)
    return _digest(body)


def is_json_media(media: str) -> bool:
    """Is a body of this media type (``Answer.media_type``) compared as JSON?"""
    return media == "application/json" or media.endswith("+json")


def surely_same(first: Answer, second: Answer, headers: Sequence[str]) -> bool:
    """True only when the two answers' fields cannot differ; cheap next to ``answer_fields``.

    Most shadowed answers agree, and flattening two JSON documents into
    fields costs most of a comparison. Same status, same compared headers,
    the same media type and charset (they decide how a body is read), and
    bodies equal as bytes or as canonical JSON (keys sorted, one spacing:
    ``true`` and ``1``, or ``1`` and ``1.0``, stay apart, so no difference the
    fields would show is hidden). False means "compare field by field".
    """
    if first.status != second.status or first.media_type != second.media_type:
        return False
    if first.charset != second.charset:
        return False
    if any(first.header(name) != second.header(name) for name in headers):
        return False
    if first.body == second.body:
        return True
    if not is_json_media(first.media_type) or len(first.body) > STRUCTURED_LIMIT:
        return False
    try:
        return _canonical_json(first.body) == _canonical_json(second.body)
    except (ValueError, RecursionError):
        return False


def _canonical_json(body: bytes) -> str:
    return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))


def _digest(body: bytes) -> Fields:
    return {("body", "sha256"): Leaf("text", hashlib.sha256(body).hexdigest())}


def json_fields(value: Any, path: Path) -> Iterable[tuple[Path, Leaf]]:
    """Leaves of a JSON document; an empty object or list is a leaf of its own."""
    if isinstance(value, dict):
        if not value:
            yield path, Leaf("object", None)
        for key, item in value.items():
            yield from json_fields(item, (*path, str(key)))
    elif isinstance(value, list):
        if not value:
            yield path, Leaf("array", None)
        for index, item in enumerate(value):
            yield from json_fields(item, (*path, index))
    elif isinstance(value, bool):
        yield path, Leaf("boolean", value)
    elif isinstance(value, int | float):
        # 1 and 1.0 are the same number to every JSON reader.
        yield path, Leaf("number", value)
    elif value is None:
        yield path, Leaf("null", None)
    else:
        yield path, Leaf("string", value)


def text_fields(text: str) -> Fields:
    """One field per line, trailing whitespace and line endings normalised."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip().split("\n")
    return {("body", number): Leaf("text", line.rstrip()) for number, line in enumerate(lines)}


def html_fields(text: str) -> Fields:
    """The element tree of an HTML document, as paths (see the module docstring)."""
    parser = _TreeParser()
    parser.feed(text)
    parser.close()
    return parser.fields


class _Node:
    __slots__ = ("children", "path", "text")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.children: dict[str, int] = {}  # tag -> how many seen, for sibling indexes
        self.text: list[str] = []


class _TreeParser(HTMLParser):
    """Element paths with sibling indexes per tag: the third ``li`` is ``li[2]``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: Fields = {}
        self.stack: list[tuple[str, _Node]] = [("", _Node(("body",)))]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1][1]
        index = parent.children.get(tag, 0)
        parent.children[tag] = index + 1
        path: Path = (*parent.path, tag) if index == 0 else (*parent.path, tag, index)
        self.fields[path] = Leaf("element", tag)
        for name, value in attrs:
            normal = _SPACE.sub(" ", value or "").strip()
            if name == "class":
                normal = " ".join(sorted(normal.split()))
            self.fields[(*path, f"@{name}")] = Leaf("text", normal)
        if tag not in _VOID:
            self.stack.append((tag, _Node(path)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self._close(tag)

    def handle_endtag(self, tag: str) -> None:
        self._close(tag)

    def handle_data(self, data: str) -> None:
        text = _SPACE.sub(" ", data).strip()
        if text:
            self.stack[-1][1].text.append(text)

    def close(self) -> None:
        super().close()
        while len(self.stack) > 1:
            self._pop()
        self._emit_text(self.stack[0][1])

    def _close(self, tag: str) -> None:
        # An end tag closes the nearest open element of that name and any left
        # open inside it (<li> and <p> often are); a stray end tag is ignored.
        if any(open_tag == tag for open_tag, _ in self.stack[1:]):
            while self.stack[-1][0] != tag:
                self._pop()
            self._pop()

    def _pop(self) -> None:
        _, node = self.stack.pop()
        self._emit_text(node)

    def _emit_text(self, node: _Node) -> None:
        if node.text:
            self.fields[(*node.path, "#text")] = Leaf("text", " ".join(node.text))
