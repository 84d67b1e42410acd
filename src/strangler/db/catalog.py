"""The live tables of a database, read from its catalog as items (``strangler.db.items``).

PostgreSQL's catalog is read here in four queries; SQLite's (each attached
schema's ``sqlite_master`` and pragmas) in ``strangler.db.sqlite_catalog``.
Both give a ``Catalog``, which also knows how that database spells types and
where it can declare a foreign key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.backends.base.base import BaseDatabaseWrapper

from .items import Column, Items, Reference
from .schemas import split_table
from .types import canonical_default, canonical_type, type_canonicaliser

__all__ = ["Catalog", "UnenforceableKey", "read_catalog"]


@dataclass(frozen=True)
class UnenforceableKey:
    """A foreign key the database stores but cannot enforce (SQLite: a non-unique target)."""

    schema: str
    table: str
    columns: tuple[str, ...]
    target: Reference
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.schema}.{self.table} ({', '.join(self.columns)}): a foreign key to "
            f"{self.target}, {self.reason}"
        )


@dataclass
class Catalog:
    """The live tables of one database, as items, with its ``search_path``."""

    items: Items
    search_path: list[str]
    tables: set[tuple[str, str]]
    vendor: str = "postgresql"
    unenforceable: list[UnenforceableKey] = field(default_factory=list)

    @property
    def canonical_type(self) -> Callable[[str], str]:
        """How this database's types are compared (``strangler.db.types``)."""
        return type_canonicaliser(self.vendor)

    def declares_fk(self, schema: str, target_schema: str) -> bool:
        """Whether a foreign key from ``schema`` into ``target_schema`` exists in the database.

        SQLite's schemas are separate database files, and a foreign key cannot
        leave its file: the backend leaves such keys out (Django still follows
        the relation).
        """
        return self.vendor != "sqlite" or schema == target_schema

    def reference(self, schema: str, target_table: str, target_column: str) -> Reference | None:
        """The item of a foreign key from ``schema`` to a model's ``db_table``, if declared."""
        ref_schema, ref_table = self.resolve(target_table)
        if not self.declares_fk(schema, ref_schema):
            return None
        return Reference(ref_schema, ref_table, (target_column,))

    def resolve(self, db_table: str) -> tuple[str, str]:
        """(schema, table) for a model's ``db_table``: bare names as ``search_path`` finds them."""
        schema, table = split_table(db_table)
        if schema is not None:
            return schema, table
        for candidate in self.search_path:
            if (candidate, table) in self.tables:
                return candidate, table
        return (self.search_path[0] if self.search_path else "public"), table

    def table_items(self, schema: str, table: str) -> Items:
        """The items of one table (empty when it does not exist)."""
        return {key: value for key, value in self.items.items() if key[:2] == (schema, table)}


_EXCLUDED = ["pg_catalog", "information_schema", "pg_toast"]


def read_catalog(connection: BaseDatabaseWrapper, schemas: Iterable[str] | None = None) -> Catalog:
    """Read every table of the given schemas (default: all but the database's own).

    PostgreSQL and SQLite (``strangler.db.backends.sqlite3``: schemas are
    attached files); any other database is a ``ValueError`` that names it.
    """
    if connection.vendor == "sqlite":
        from .sqlite_catalog import read_sqlite_catalog

        return read_sqlite_catalog(connection, schemas)
    if connection.vendor != "postgresql":
        raise ValueError(
            f"database {connection.alias!r} is {connection.vendor}; the database tools read "
            "the catalogs of PostgreSQL and SQLite"
        )
    return _read_postgresql_catalog(connection, schemas)


def _read_postgresql_catalog(
    connection: BaseDatabaseWrapper, schemas: Iterable[str] | None
) -> Catalog:
    """Every table of the given schemas in four queries."""
    items: Items = {}
    tables: set[tuple[str, str]] = set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        search_path = list(cursor.fetchone()[0])
        if schemas is None:
            cursor.execute(
                "SELECT nspname FROM pg_catalog.pg_namespace "
                "WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg\\_%%'",
                [_EXCLUDED],
            )
            schemas = [row[0] for row in cursor.fetchall()]
        param = sorted(set(schemas))
        cursor.execute(
            """
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity <> ''
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_attribute a
              ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND n.nspname = ANY(%s)
            """,
            [param],
        )
        for schema, table, column, sql_type, notnull, default, identity in cursor.fetchall():
            tables.add((schema, table))
            items[(schema, table, "table", ())] = True
            serial = default is not None and default.startswith("nextval(")
            items[(schema, table, "column", (column,))] = Column(
                canonical_type(sql_type),
                not notnull,
                None if serial or identity else canonical_default(default),
                identity or serial,
            )
        cursor.execute(
            """
            SELECT n.nspname, c.relname, con.contype,
                   ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, i)
                         JOIN pg_catalog.pg_attribute a
                           ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.i),
                   fn.nspname, fc.relname,
                   ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, i)
                         JOIN pg_catalog.pg_attribute a
                           ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i)
            FROM pg_catalog.pg_constraint con
            JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
            LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
            WHERE con.contype IN ('p', 'f', 'u') AND n.nspname = ANY(%s)
            """,
            [param],
        )
        for schema, table, kind, columns, ref_schema, ref_table, ref_columns in cursor.fetchall():
            if kind == "p":
                items[(schema, table, "pk", ())] = tuple(columns)
            elif kind == "f":
                items[(schema, table, "fk", tuple(columns))] = Reference(
                    ref_schema, ref_table, tuple(ref_columns)
                )
            else:
                items[(schema, table, "unique", tuple(sorted(columns)))] = True
        cursor.execute(
            """
            SELECT n.nspname, c.relname, i.indisunique,
                   ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, o)
                         JOIN pg_catalog.pg_attribute a
                           ON a.attrelid = i.indrelid AND a.attnum = k.num
                         WHERE k.o <= i.indnkeyatts ORDER BY k.o)
            FROM pg_catalog.pg_index i
            JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE i.indexprs IS NULL AND i.indpred IS NULL AND n.nspname = ANY(%s)
            """,
            [param],
        )
        for schema, table, unique, columns in cursor.fetchall():
            items[(schema, table, "index", tuple(columns))] = True
            if unique:
                items[(schema, table, "unique", tuple(sorted(columns)))] = True
    return Catalog(items, search_path, tables)
