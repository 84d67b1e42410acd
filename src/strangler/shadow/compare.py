"""Compare Django's answer with Flask's, field by field.

The one comparison used by live shadow and by ``strangler_replay``: both
answers are turned into fields (``fields.py``), fields covered by the ignore
patterns or by learned noise are left out, and every other field whose value
differs (or that only one side has) is listed by path. No framework imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .fields import Answer, Fields, answer_fields, surely_same
from .paths import Path, PathSet, render

# A port that answers HTML for JSON differs in every field; a list this long
# already says so, and the stored difference stays small.
MAX_LISTED = 50
NOTHING = PathSet()


@dataclass(frozen=True)
class Comparison:
    """What differs between two answers, after ignored and noisy fields are left out."""

    # Differing field paths, in document order of the first answer, then the second's.
    fields: list[str]
    # path -> [first answer's value, second's] (None where that side lacks it), for display.
    values: dict[str, list[str | None]] = field(default_factory=dict)
    # How many differing fields there were beyond MAX_LISTED.
    more: int = 0

    @property
    def differs(self) -> bool:
        """Did any compared field differ?"""
        return bool(self.fields)


def differing_paths(first: Fields, second: Fields) -> list[Path]:
    """Paths whose value differs between two field sets (or that one lacks), in order."""
    paths = [path for path, leaf in first.items() if second.get(path) != leaf]
    paths += [path for path in second if path not in first]
    return paths


def compare(
    django: Answer,
    flask: Answer,
    *,
    headers: Sequence[str],
    ignore: PathSet = NOTHING,
    noise: PathSet = NOTHING,
) -> Comparison:
    """Compare two answers; ``headers`` names the response headers that take part."""
    if surely_same(django, flask, headers):
        return Comparison([])
    first = answer_fields(django, headers)
    second = answer_fields(flask, headers)
    paths = [
        path
        for path in differing_paths(first, second)
        if not ignore.covers(path) and not noise.covers(path)
    ]
    listed = paths[:MAX_LISTED]
    values: dict[str, list[str | None]] = {}
    for path in listed:
        mine, theirs = first.get(path), second.get(path)
        values[render(path)] = [
            None if mine is None else str(mine),
            None if theirs is None else str(theirs),
        ]
    return Comparison([render(path) for path in listed], values, len(paths) - len(listed))
