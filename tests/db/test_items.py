"""``strangler.db.items``: the one comparison of a declared item with the database's."""

from __future__ import annotations

import pytest

from strangler.db.items import Column, Reference, same_item


def test_column_reads_as_a_difference_does() -> None:
    assert str(Column("varchar(50)", True)) == "varchar(50) NULL"
    assert str(Column("timestamptz", False, "now()")) == "timestamptz NOT NULL DEFAULT now()"
    assert str(Column("bigint", False, None, True)) == "bigint NOT NULL auto-increment"


@pytest.mark.parametrize(
    ("declared", "live", "same"),
    [
        (Column("integer", False), Column("integer", False), True),
        (Column("integer", False), Column("bigint", False), False),
        (Column("integer", False), Column("integer", True), False),
        # A default the model does not declare is the database's business.
        (Column("integer", False), Column("integer", False, "0"), True),
        (Column("integer", False, "0"), Column("integer", False), False),
        (Column("integer", False, "0"), Column("integer", False, "1"), False),
        (Column("integer", False, None, True), Column("integer", False, None, True), True),
        (Column("integer", False, None, True), Column("integer", False), False),
        (Column("integer", False), None, False),
        (Reference("a", "t", ("id",)), Reference("a", "t", ("id",)), True),
        (Reference("a", "t", ("id",)), Reference("b", "t", ("id",)), False),
        (("a", "b"), ("a", "b"), True),
        (True, None, False),
    ],
)
def test_same_item(declared: object, live: object, same: bool) -> None:
    assert same_item(declared, live) is same
