"""What the reliability and property tests find failing today: one register.

Keys are issue 7's finding numbers, or a name for a failure outside the nine
findings. A test of a listed failure is a strict xfail (``xfail_while_open``,
``pinned``), so it fails the moment a fix lands; a property whose inputs
include a listed class sets those inputs aside (``assume(not (open_finding(key)
and ...))``) so it stays green on everything else. When a fix lands, its key
leaves this dict and its xfails and set-asides go with it; a pinned case stays
as a plain regression test.
"""

from __future__ import annotations

import pytest

# Empty: every failure recorded here has been fixed (fail-fast last, forwarding/health.py).
KNOWN_FAILING: dict[int | str, str] = {}


def open_finding(key: int | str) -> bool:
    """Is this failure still expected?"""
    return key in KNOWN_FAILING


def xfail_while_open(key: int | str) -> pytest.MarkDecorator:
    """A strict xfail while ``key`` is in ``KNOWN_FAILING``, nothing after."""
    return pytest.mark.xfail(open_finding(key), strict=True, reason=KNOWN_FAILING.get(key, ""))


def pinned(key: int | str, *values: object) -> object:
    """A parametrized case of failure ``key``: a strict xfail while it is open."""
    return pytest.param(*values, marks=xfail_while_open(key), id=f"{key}-{values[0]!r}"[:60])
