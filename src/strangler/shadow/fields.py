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
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NamedTuple

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
_CHARSET = re.compile(r"charset=\"?([\w.:-]+)", re.I)
# Bodies larger than this are compared by digest only: parsing a huge body
# field by field would hold a worker for long and say little more.
STRUCTURED_LIMIT = 2 * 1024 * 1024


class _HeaderView(NamedTuple):
    """An answer's headers as a comparison reads them, worked out once."""

    # Lower-cased name -> every value, joined with ", " in the order sent.
    by_name: dict[str, str]
    media_type: str
    charset: str


def _view_of(headers: Headers) -> _HeaderView:
    by_name: dict[str, str] = {}
    for key, value in headers:
        name = key.lower()
        by_name[name] = f"{by_name[name]}, {value}" if name in by_name else value
    content_type = by_name.get("content-type", "")
    match = _CHARSET.search(content_type)
    return _HeaderView(
        by_name,
        content_type.split(";")[0].strip().lower(),
        match.group(1) if match else "utf-8",
    )


@dataclass(frozen=True)
class Answer:
    """One side's answer: status, headers (as sent) and the whole body."""

    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """Every value of header ``name`` joined with ``", "`` (None when absent)."""
        return self._view.by_name.get(name.lower())

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` without parameters, lower-cased (``""`` when absent)."""
        return self._view.media_type

    @property
    def charset(self) -> str:
        """The declared charset, UTF-8 when none is (JSON and most HTML)."""
        return self._view.charset

    @property
    def _view(self) -> _HeaderView:
        # Worked out on first use, once: a comparison reads the media type, the
        # charset and every compared header of both answers. Not on the request
        # path, where Django's answer is built and never read. Kept in __dict__
        # by hand: functools.cached_property takes a lock (Python 3.11) that
        # costs as much as the work.
        view: _HeaderView | None = self.__dict__.get("_header_view")
        if view is None:
            view = self.__dict__["_header_view"] = _view_of(self.headers)
        return view

    def __getstate__(self) -> dict[str, object]:
        # The view stays behind: cheaper to work out again than to send.
        return {"status": self.status, "headers": self.headers, "body": self.body}


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
    bodies equal as bytes or as JSON documents whose numbers are compared by
    their spelling (``_spelled_json``): ``true`` and ``1``, or ``1`` and ``1.0``,
    stay apart, so no difference the fields would show is hidden. False means
    "compare field by field".
    """
    mine, theirs = first._view, second._view
    if first.status != second.status or mine.media_type != theirs.media_type:
        return False
    if mine.charset != theirs.charset:
        return False
    for name in headers:
        lowered = name.lower()
        if mine.by_name.get(lowered) != theirs.by_name.get(lowered):
            return False
    if first.body == second.body:
        return True
    if not is_json_media(mine.media_type):
        return False
    # A body over the limit is compared by digest (body_fields), not as JSON.
    if len(first.body) > STRUCTURED_LIMIT or len(second.body) > STRUCTURED_LIMIT:
        return False
    try:
        return _spelled_json(first.body) == _spelled_json(second.body)
    except (ValueError, RecursionError):
        return False


# Numbers are parsed into the bytes of their spelling: JSON never produces
# bytes, so a number equals only a number spelled the same way, never ``true``
# (True == 1 in Python), a string, or ``1.0`` for ``1`` (the fields call those
# two equal; "not surely the same" there only costs a field compare). Two such
# parses are equal only when the documents are, key order and spacing aside;
# far cheaper than ``json.dumps(sort_keys=True)`` of both, which was most of a
# comparison's time.
_SPELLED = json.JSONDecoder(parse_int=str.encode, parse_float=str.encode)


def _checked_int(text: str) -> bytes:
    int(text)  # refuses an integer longer than sys.get_int_max_str_digits(), as body_fields does
    return text.encode()


_CHECKED = json.JSONDecoder(parse_int=_checked_int, parse_float=str.encode)


def _spelled_json(body: bytes) -> object:
    """``body`` parsed as ``json.loads`` parses it, numbers kept as their spelling."""
    text = body.decode(json.detect_encoding(body), "surrogatepass")  # as json.loads does
    limit = sys.get_int_max_str_digits()
    # A body too short to hold a too-long integer skips the check of each one.
    decoder = _CHECKED if limit and len(text) > limit else _SPELLED
    return decoder.decode(text)


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
