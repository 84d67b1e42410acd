"""Field paths: how a compared field is named, and patterns that match names.

Every compared value has a path: ``status``, ``header.content-type``,
``body.items[0].name`` (JSON), ``body.html.body.ul.li[1].#text`` (HTML),
``body[3]`` (line 4 of a text body). Users write patterns over the same
syntax to leave fields out of the comparison (``SHADOW["IGNORE"]``):

* ``*`` matches one key or one list index (``body.items[*].id``);
* ``**`` matches any number of segments, none included (``body.**.updated_at``);
* a key with a dot, bracket or quote in it is written quoted: ``body["a.b"]``.

No framework imports: the comparison runs in worker threads and in
``strangler_replay`` alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

Segment = str | int
Path = tuple[Segment, ...]

_BARE_KEY = re.compile(r"[^.\[\]\"\s]+")
_TOKEN = re.compile(r"""\.?([^.\[\]"\s]+)|\[(\*\*|\*|\d+|"(?:[^"\\]|\\.)*")\]""")
_ANY_ONE = "*"
_ANY_DEPTH = "**"


class FieldPatternError(ValueError):
    """An ignore pattern cannot be parsed; the message says where."""


def render(path: Path) -> str:
    """The text form of ``path``: ``body.items[0]["a.b"]``."""
    out: list[str] = []
    for segment in path:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif _BARE_KEY.fullmatch(segment) and segment not in (_ANY_ONE, _ANY_DEPTH):
            out.append(f".{segment}" if out else segment)
        else:
            out.append(f"[{json.dumps(segment)}]")
    return "".join(out)


@lru_cache(maxsize=1024)
def parse_pattern(pattern: str) -> tuple[Segment, ...]:
    """Parse an ignore pattern into segments; ``*`` and ``**`` stay wildcards.

    Raises ``FieldPatternError`` for text that is not a path, so that a typo
    is reported by ``manage.py check`` instead of silently matching nothing.
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise FieldPatternError(f"field pattern {pattern!r} must be a non-empty string")
    segments: list[Segment] = []
    position = 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None or (position == 0 and pattern.startswith(".")):
            raise FieldPatternError(
                f"field pattern {pattern!r} cannot be read at position {position}: "
                f"write keys with dots (body.items) and indexes in brackets (items[0], items[*])"
            )
        key, bracket = match.groups()
        if key is not None:
            segments.append(key)
        elif bracket.startswith('"'):
            segments.append(json.loads(bracket))
        elif bracket.isdigit():
            segments.append(int(bracket))
        else:
            segments.append(bracket)
        position = match.end()
    return tuple(segments)


def _matches(pattern: tuple[Segment, ...], path: Path) -> bool:
    if not pattern:
        return not path
    head = pattern[0]
    if head == _ANY_DEPTH:
        return any(_matches(pattern[1:], path[skip:]) for skip in range(len(path) + 1))
    if not path:
        return False
    if head == _ANY_ONE or head == path[0]:
        return _matches(pattern[1:], path[1:])
    return False


@dataclass(frozen=True)
class PathSet:
    """Field patterns (from settings) and exact paths (learned noise) to leave out.

    A pattern also covers everything below what it names: ignoring
    ``body.meta`` ignores ``body.meta.generated_at``.
    """

    patterns: tuple[tuple[Segment, ...], ...] = ()
    exact: frozenset[str] = frozenset()

    @classmethod
    def from_patterns(cls, patterns: Iterable[str], exact: Iterable[str] = ()) -> PathSet:
        """Parse ``patterns`` (raises ``FieldPatternError``); ``exact`` are rendered paths."""
        return cls(tuple(parse_pattern(p) for p in patterns), frozenset(exact))

    def covers(self, path: Path) -> bool:
        """Is ``path``, or a field it lies under, in this set?"""
        if self.exact and any(render(path[:n]) in self.exact for n in range(1, len(path) + 1)):
            return True
        return any(
            _matches(pattern, path[:n])
            for pattern in self.patterns
            for n in range(1, len(path) + 1)
        )
