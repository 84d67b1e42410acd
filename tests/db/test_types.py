"""``strangler.db.types``: one spelling per type and default, whichever side wrote it."""

from __future__ import annotations

import pytest

from strangler.db.types import canonical_default, canonical_sqlite_type, canonical_type


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("character varying(50)", "varchar(50)"),  # PostgreSQL's format_type
        ("varchar(50)", "varchar(50)"),  # Django's db_type
        ("VARCHAR(50)", "varchar(50)"),  # SQLAlchemy
        ("character varying", "varchar"),
        ("numeric(10,2)", "numeric(10,2)"),
        ("NUMERIC(10, 2)", "numeric(10,2)"),
        ("timestamp with time zone", "timestamptz"),
        ("TIMESTAMP WITHOUT TIME ZONE", "timestamp"),
        ("time without time zone", "time"),
        ("FLOAT", "double precision"),
        ("double precision", "double precision"),
        ("int4", "integer"),
        ("integer[]", "integer[]"),
        ("BOOLEAN", "boolean"),
        ("character(3)", "char(3)"),
    ],
)
def test_canonical_type(spelled: str, canonical: str) -> None:
    assert canonical_type(spelled) == canonical


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("'x'::character varying", "'x'"),
        ("('x'::text)", "'x'"),
        ("'It''s'::text", "'It''s'"),
        ("now()", "now()"),
        ("CURRENT_TIMESTAMP", "now()"),
        ("(STATEMENT_TIMESTAMP())", "now()"),
        ("0", "0"),
        ("(0)::numeric(8,2)", "0"),
        ("true", "true"),
        ("TRUE", "true"),
        (None, None),
    ],
)
def test_canonical_default(spelled: str | None, canonical: str | None) -> None:
    assert canonical_default(spelled) == canonical


@pytest.mark.parametrize(
    ("declared", "family"),
    [
        ("varchar(100)", "text"),  # Django
        ("VARCHAR(100)", "text"),  # SQLAlchemy: the length is ignored by SQLite too
        ("TEXT", "text"),
        ("char(32)", "text"),  # Django's UUIDField
        ("integer", "integer"),
        ("BIGINT", "integer"),
        ("smallint unsigned", "integer"),
        ("datetime", "datetime"),
        ("DATETIME", "datetime"),
        ("TIMESTAMP", "datetime"),
        ("date", "date"),
        ("bool", "bool"),
        ("BOOLEAN", "bool"),
        ("decimal", "decimal"),
        ("NUMERIC(8, 2)", "decimal"),
        ("real", "real"),
        ("FLOAT", "real"),
        ("double precision", "real"),
        ("BLOB", "blob"),
        ("", "blob"),
        ("JSON", "text"),
    ],
)
def test_canonical_sqlite_type(declared: str, family: str) -> None:
    assert canonical_sqlite_type(declared) == family


def test_clock_defaults_of_both_sides_on_sqlite_are_now() -> None:
    assert canonical_default("(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))") == "now()"
    assert canonical_default("CURRENT_TIMESTAMP") == "now()"
