"""One spelling per column type and per column default, so both sides compare as equal.

The catalog, Django's ``db_type()`` and SQLAlchemy's compiled types spell the
same type differently (``character varying(50)``, ``varchar(50)``,
``VARCHAR(50)``); each is reduced to one spelling before comparing. On SQLite
a declared type is only a hint (SQLite stores by *affinity* and ignores
lengths), so types compare by the family of values they hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["canonical_default", "canonical_sqlite_type", "canonical_type", "type_canonicaliser"]

_TYPE_ALIASES = {
    "character varying": "varchar",
    "character": "char",
    "bpchar": "char",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "serial": "integer",
    "bigserial": "bigint",
    "smallserial": "smallint",
    "bool": "boolean",
    "decimal": "numeric",
    "float": "double precision",
    "float8": "double precision",
    "float4": "real",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
}
_TYPE = re.compile(r"^(?P<base>[a-z][a-z0-9 ]*?)\s*(?P<args>\(.*\))?(?P<array>(\[\])*)$")


def canonical_type(sql_type: str) -> str:
    """One spelling per PostgreSQL type: ``character varying(50)`` -> ``varchar(50)``.

    Accepts PostgreSQL's ``format_type()``, Django's ``db_type()`` and
    SQLAlchemy's compiled types (``VARCHAR(50)``, ``NUMERIC(10, 2)``).
    """
    text = " ".join(sql_type.strip().lower().split())
    match = _TYPE.match(text)
    if match is None:
        return text
    base = _TYPE_ALIASES.get(match["base"], match["base"])
    args = (match["args"] or "").replace(" ", "")
    return f"{base}{args}{match['array']}"


# Declared-type families on SQLite, first match wins. The base type (before
# any "(n)") is matched, so lengths and precisions never count: SQLite ignores
# them. Dates and booleans keep their names (Django and SQLAlchemy store them
# alike, as text and 0/1), though SQLite gives them numeric affinity.
_SQLITE_FAMILIES = (
    ("datetime", ("datetime", "timestamp")),
    ("date", ("date",)),
    ("time", ("time",)),
    ("bool", ("bool",)),
    ("integer", ("int",)),
    ("text", ("char", "clob", "text", "json", "uuid")),
    ("real", ("real", "floa", "doub")),
    ("decimal", ("decimal", "numeric")),
    ("blob", ("blob",)),
)


def canonical_sqlite_type(sql_type: str) -> str:
    """The family of a type declared on SQLite: ``VARCHAR(50)`` and ``text`` -> ``text``."""
    base = sql_type.strip().lower().split("(", 1)[0].strip()
    if base == "":
        return "blob"  # no declared type: SQLite's BLOB affinity
    for family, markers in _SQLITE_FAMILIES:
        if any(marker in base for marker in markers):
            return family
    return base


def type_canonicaliser(vendor: str) -> Callable[[str], str]:
    """The canonical-type function for a database vendor."""
    return canonical_sqlite_type if vendor == "sqlite" else canonical_type


_CAST = re.compile(r"::[a-z_][a-z0-9_ ]*(\(\d+(,\d+)?\))?(\[\])?$", re.IGNORECASE)
_NOW = {
    "now()",
    "current_timestamp",
    "transaction_timestamp()",
    "statement_timestamp()",
    "strftime('%y-%m-%d %h:%m:%f', 'now')",  # Django's Now() on SQLite
}


def canonical_default(expression: str | None) -> str | None:
    """A column default in one spelling: casts and outer parentheses dropped.

    The clock functions (``now()``, ``CURRENT_TIMESTAMP``, Django's
    ``STATEMENT_TIMESTAMP()``) all read as ``now()``: as a column default they
    differ at most by the time since the transaction began.
    """
    if expression is None:
        return None
    text = expression.strip()
    while True:
        stripped = _CAST.sub("", text).strip()
        if stripped.startswith("(") and stripped.endswith(")") and _balanced(stripped[1:-1]):
            stripped = stripped[1:-1].strip()
        if stripped == text:
            break
        text = stripped
    if not text.startswith("'"):
        text = text.lower()
    return "now()" if text in _NOW else text


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0
