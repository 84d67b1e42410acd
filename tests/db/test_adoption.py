"""``strangler.db.adoption``: RUN, FAKE or REFUSE from the items a migration changes.

The end-to-end cases (real Alembic, real migrations) are in test_safemigrate.py;
these cover the operations the test app's migrations do not: AlterField and
RemoveField, done or pending, and a column that is neither.
"""

from __future__ import annotations

from typing import Any

from strangler.db.adoption import _judge
from strangler.db.items import Column

TABLE = ("labs", "sample", "table", ())
NAME = ("labs", "sample", "column", ("name",))
OLD = ("labs", "sample", "column", ("legacy",))
SHORT, LONG = Column("varchar(50)", False), Column("varchar(100)", False)


def judge(before: dict[Any, Any], after: dict[Any, Any], live: dict[Any, Any], *accept: str):
    return _judge(before, after, live, set(accept))


def test_alter_field_already_applied_is_faked() -> None:
    before, after = {TABLE: True, NAME: SHORT}, {TABLE: True, NAME: LONG}
    assert judge(before, after, {TABLE: True, NAME: LONG}) == ("fake", [], [])


def test_alter_field_not_yet_applied_runs() -> None:
    before, after = {TABLE: True, NAME: SHORT}, {TABLE: True, NAME: LONG}
    assert judge(before, after, {TABLE: True, NAME: SHORT}) == ("run", [], [])


def test_alter_field_to_something_else_is_refused() -> None:
    before, after = {TABLE: True, NAME: SHORT}, {TABLE: True, NAME: LONG}
    live = {TABLE: True, NAME: Column("text", True)}
    assert judge(before, after, live) == (
        "refuse",
        ["labs.sample.name: text NULL in the database, varchar(100) NOT NULL in the migration"],
        [],
    )


def test_remove_field_done_or_pending() -> None:
    before, after = {TABLE: True, OLD: SHORT}, {TABLE: True}
    assert judge(before, after, {TABLE: True})[0] == "fake"
    assert judge(before, after, {TABLE: True, OLD: SHORT})[0] == "run"


def test_accepted_difference_fakes() -> None:
    before, after = {}, {TABLE: True, NAME: LONG}
    live = {TABLE: True, NAME: SHORT}
    action, differences, accepted = judge(before, after, live, "labs.sample.name")
    assert (action, differences) == ("fake", [])
    assert accepted == [
        "labs.sample.name: varchar(50) NOT NULL in the database, "
        "varchar(100) NOT NULL in the migration"
    ]


def test_a_default_the_model_does_not_declare_is_not_a_difference() -> None:
    before, after = {}, {TABLE: True, NAME: LONG}
    live = {TABLE: True, NAME: Column("varchar(100)", False, "'x'")}
    assert judge(before, after, live)[0] == "fake"


def test_no_schema_change_runs() -> None:
    assert judge({TABLE: True}, {TABLE: True}, {}) == ("run", [], [])
