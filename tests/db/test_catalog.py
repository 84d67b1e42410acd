"""``strangler.db.catalog``: one spelling per type and default, whichever side wrote it."""

from __future__ import annotations

import pytest

from strangler.db.catalog import Column, canonical_default, canonical_type


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


def test_column_reads_as_a_difference_does() -> None:
    assert str(Column("varchar(50)", True)) == "varchar(50) NULL"
    assert str(Column("timestamptz", False, "now()")) == "timestamptz NOT NULL DEFAULT now()"
    assert str(Column("bigint", False, None, True)) == "bigint NOT NULL auto-increment"
