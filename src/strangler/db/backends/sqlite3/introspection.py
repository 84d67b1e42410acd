"""SQLite introspection that reads an attached schema's own catalog.

Django's SQLite introspection reads ``sqlite_master`` and ``PRAGMA x(table)``,
which see the main database only (or the first table of that name anywhere).
For a schema-qualified table each of Django's own queries runs with those two
qualified by the schema, so the answers are Django's, for the right table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.base.introspection import TableInfo
from django.db.backends.sqlite3 import introspection

from ...schemas import qualify, split_table

__all__ = ["DatabaseIntrospection"]

_PRAGMA = re.compile(r"\bPRAGMA\s+(\w+)\s*\(", re.IGNORECASE)
_MASTER = re.compile(r"\bsqlite_master\b")


class _SchemaCursor:
    """A cursor whose catalog reads go to one attached schema."""

    def __init__(self, cursor: Any, schema: str) -> None:
        self._cursor = cursor
        self._prefix = f'"{schema}".'

    def execute(self, sql: str, params: Any = None) -> _SchemaCursor:
        sql = _PRAGMA.sub(lambda m: f"PRAGMA {self._prefix}{m[1]}(", sql)
        sql = _MASTER.sub(f"{self._prefix}sqlite_master", sql)
        self._cursor.execute(sql, params)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class DatabaseIntrospection(introspection.DatabaseIntrospection):
    """SQLite introspection for tables named ``'"schema"."table"'`` or bare."""

    def identifier_converter(self, name: str) -> str:
        schema, table = split_table(name)
        return qualify(schema, table)

    def get_table_list(self, cursor: Any) -> list[Any]:
        """The main database's tables by bare name, each attached schema's qualified."""
        tables: list[Any] = list(super().get_table_list(cursor))
        cursor.execute("PRAGMA database_list")
        schemas = [row[1] for row in cursor.fetchall() if row[1] not in ("main", "temp")]
        for schema in schemas:
            schema_cursor = _SchemaCursor(cursor, schema).execute(
                "SELECT name, type FROM sqlite_master "
                "WHERE type in ('table', 'view') AND NOT name='sqlite_sequence' ORDER BY name"
            )
            tables += [
                TableInfo(qualify(schema, name), kind[0]) for name, kind in schema_cursor.fetchall()
            ]
        return tables

    @contextmanager
    def _in_schema(self, cursor: Any, table_name: str) -> Iterator[tuple[Any, str]]:
        schema, table = split_table(table_name)
        yield (cursor if schema is None else _SchemaCursor(cursor, schema)), table

    def get_table_description(self, cursor: Any, table_name: str) -> list[Any]:
        with self._in_schema(cursor, table_name) as (schema_cursor, table):
            return list(super().get_table_description(schema_cursor, table))

    def get_primary_key_columns(self, cursor: Any, table_name: str) -> list[str] | None:
        with self._in_schema(cursor, table_name) as (schema_cursor, table):
            columns = super().get_primary_key_columns(schema_cursor, table)
            return None if columns is None else list(columns)

    def get_constraints(self, cursor: Any, table_name: str) -> dict[str, Any]:
        with self._in_schema(cursor, table_name) as (schema_cursor, table):
            return dict(super().get_constraints(schema_cursor, table))

    def get_relations(self, cursor: Any, table_name: str) -> dict[str, tuple[str, str]]:
        """Foreign keys; SQLite's only point within the schema, so targets are qualified so."""
        schema, _ = split_table(table_name)
        with self._in_schema(cursor, table_name) as (schema_cursor, table):
            relations = dict(super().get_relations(schema_cursor, table))
        return {
            column: (ref_column, qualify(schema, ref_table))
            for column, (ref_column, ref_table) in relations.items()
        }
