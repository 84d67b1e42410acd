"""Introspection that finds a table by (schema, table), not by ``search_path`` visibility.

Django's PostgreSQL introspection asks ``pg_table_is_visible()``, so a table in
a schema that is not on ``search_path`` does not exist for it: index and
constraint names come back empty (``RemoveIndex`` fails), the primary key's
sequence is not found (``AlterField`` leaves it behind), and ``flush`` skips
the table. For a schema-qualified name each lookup here runs Django's own query
with ``search_path`` pointed at that one schema, so the answers are exactly
Django's, for the right table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.postgresql import introspection

from ...schemas import qualify, split_table

__all__ = ["DatabaseIntrospection"]

# Schemas that belong to PostgreSQL itself, never to an application.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


class DatabaseIntrospection(introspection.DatabaseIntrospection):
    """PostgreSQL introspection for tables named ``'"schema"."table"'`` or bare."""

    def identifier_converter(self, name: str) -> str:
        """One spelling per table, so model tables match ``table_names()``."""
        schema, table = split_table(name)
        return qualify(schema, table)

    def get_table_list(self, cursor: Any) -> list[Any]:
        """Tables on ``search_path`` by bare name (as Django lists them), the others qualified.

        Each table is listed once, so ``inspectdb`` sees no duplicates; whether
        a model's table exists is asked by name instead (``django_table_names``).
        """
        tables: list[Any] = list(super().get_table_list(cursor))
        cursor.execute(
            """
            SELECT n.nspname, c.relname,
                   CASE WHEN c.relispartition THEN 'p'
                        WHEN c.relkind IN ('m', 'v') THEN 'v'
                        ELSE 't' END,
                   obj_description(c.oid, 'pg_class')
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v')
              AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
              AND NOT pg_catalog.pg_table_is_visible(c.oid)
            """,
            [list(SYSTEM_SCHEMAS)],
        )
        tables += [
            introspection.TableInfo(qualify(schema, name), kind, comment)
            for schema, name, kind, comment in cursor.fetchall()
        ]
        return tables

    def django_table_names(
        self, only_existing: bool = False, include_views: bool = True
    ) -> list[str]:
        """The models' tables; with ``only_existing``, those PostgreSQL resolves by name.

        Asking ``to_regclass`` per name finds a ``"schema"."table"`` whether
        or not its schema is on ``search_path`` (``flush`` relies on this).
        """
        tables = list(super().django_table_names(only_existing=False, include_views=include_views))
        if not only_existing or not tables:
            return tables
        kinds = ["r", "p", "f"] + (["v", "m"] if include_views else [])
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT t.name FROM unnest(%s::text[], %s::text[]) AS t(name, quoted)
                JOIN pg_catalog.pg_class c ON c.oid = to_regclass(t.quoted)
                WHERE c.relkind = ANY(%s)
                """,
                [tables, [quote(table) for table in tables], kinds],
            )
            existing = {row[0] for row in cursor.fetchall()}
        return [table for table in tables if table in existing]

    @contextmanager
    def _looking_in_schema(self, cursor: Any, table_name: str) -> Iterator[str]:
        """Yield the bare table name with ``search_path`` set to the table's schema only."""
        schema, table = split_table(table_name)
        if schema is None:
            yield table
            return
        cursor.execute("SELECT current_setting('search_path')")
        saved = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('search_path', quote_ident(%s), false)", [schema])
        try:
            yield table
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [saved])

    def get_table_description(self, cursor: Any, table_name: str) -> list[Any]:
        with self._looking_in_schema(cursor, table_name) as table:
            return list(super().get_table_description(cursor, table))

    def get_relations(self, cursor: Any, table_name: str) -> dict[str, tuple[str, str]]:
        """``{column: (referenced column, referenced table)}``, across schemas too.

        For a schema-qualified table the referenced tables are qualified as
        well, wherever they are, so ``inspectdb '"labs"."sample"'`` keeps a
        foreign key to ``"core"."person"`` (Django's query drops keys that
        leave the table's schema).
        """
        schema, table = split_table(table_name)
        if schema is None:
            return dict(super().get_relations(cursor, table_name))
        cursor.execute(
            """
            SELECT a1.attname, n2.nspname, c2.relname, a2.attname
            FROM pg_catalog.pg_constraint con
            JOIN pg_catalog.pg_class c2 ON c2.oid = con.confrelid
            JOIN pg_catalog.pg_namespace n2 ON n2.oid = c2.relnamespace
            JOIN pg_catalog.pg_attribute a1
              ON a1.attrelid = con.conrelid AND a1.attnum = con.conkey[1]
            JOIN pg_catalog.pg_attribute a2
              ON a2.attrelid = con.confrelid AND a2.attnum = con.confkey[1]
            WHERE con.contype = 'f' AND con.conrelid = to_regclass(%s)
            """,
            [qualify(schema, table)],
        )
        return {
            column: (ref_column, qualify(ref_schema, ref_table))
            for column, ref_schema, ref_table, ref_column in cursor.fetchall()
        }

    def get_constraints(self, cursor: Any, table_name: str) -> dict[str, Any]:
        with self._looking_in_schema(cursor, table_name) as table:
            return dict(super().get_constraints(cursor, table))

    def get_sequences(self, cursor: Any, table_name: str, table_fields: Any = ()) -> list[Any]:
        """The sequences owned by the table's columns, schema-qualified when the table is.

        A qualified sequence name is what lets ``AlterField`` of a primary key
        change the sequence's type too (``ALTER SEQUENCE IF EXISTS`` with a bare
        name off ``search_path`` silently does nothing).
        """
        schema, table = split_table(table_name)
        cursor.execute(
            """
            SELECT sn.nspname, s.relname, a.attname
            FROM pg_catalog.pg_depend d
            JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
            JOIN pg_catalog.pg_attribute a
              ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_catalog.pg_class'::regclass
              AND d.refclassid = 'pg_catalog.pg_class'::regclass
              AND d.refobjid = to_regclass(%s)
            """,
            [self.connection.ops.quote_name(qualify(schema, table))],
        )
        return [
            {
                "name": name if schema is None else qualify(sequence_schema, name),
                "table": qualify(schema, table),
                "column": column,
            }
            for sequence_schema, name, column in cursor.fetchall()
        ]
