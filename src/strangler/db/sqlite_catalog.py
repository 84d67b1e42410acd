"""SQLite's catalog as items: the main database and every attached schema.

With ``strangler.db.backends.sqlite3`` a schema is an attached database file,
so ``"labs"."sample"`` is table ``sample`` of the database attached as
``labs``; bare tables are in ``main``. Each is read with SQLite's pragmas
(``table_info``, ``foreign_key_list``, ``index_list``, ``index_info``),
through their table-valued forms so that a schema is one query per kind.

SQLite stores a foreign key whose target is neither the parent's primary key
nor covered by a unique index (SQLAlchemy lets an app declare one), but cannot
enforce it: every check of it fails with "foreign key mismatch". Such keys are
collected in ``Catalog.unenforceable`` (reported by ``strangler.W042``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from .catalog import Catalog, UnenforceableKey
from .items import Column, Items, Reference
from .types import canonical_default, canonical_sqlite_type

__all__ = ["read_sqlite_catalog", "sqlite_schemas", "unenforceable_foreign_keys"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_schemas(cursor: Any) -> list[str]:
    """The databases of a connection: ``main`` and every attached schema (not ``temp``)."""
    cursor.execute("PRAGMA database_list")
    return [row[1] for row in cursor.fetchall() if row[1] != "temp"]


def _tables(cursor: Any, schema: str) -> list[str]:
    cursor.execute(
        f"SELECT name FROM {_quote(schema)}.sqlite_master "  # noqa: S608 (schema: from PRAGMA database_list, quoted)
        "WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    )
    return [row[0] for row in cursor.fetchall()]


def _columns(cursor: Any, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """``table_info`` rows (name, type, notnull, default, pk) of every table, by table."""
    cursor.execute(
        f'SELECT m.name, c.name, c.type, c."notnull", c.dflt_value, c.pk '  # noqa: S608 (schema: from PRAGMA database_list, quoted)
        f"FROM {_quote(schema)}.sqlite_master m, pragma_table_info(m.name, %s) c "
        "WHERE m.type = 'table' ORDER BY m.name, c.cid",
        [schema],
    )
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table, *column in cursor.fetchall():
        rows.setdefault(table, []).append(tuple(column))
    return rows


def _foreign_keys(cursor: Any, schema: str) -> dict[tuple[str, int], list[tuple[Any, ...]]]:
    """``foreign_key_list`` rows (parent, from, to) by (table, key id), in column order."""
    cursor.execute(
        f'SELECT m.name, f.id, f."table", f."from", f."to" '  # noqa: S608 (schema: from PRAGMA database_list, quoted)
        f"FROM {_quote(schema)}.sqlite_master m, pragma_foreign_key_list(m.name, %s) f "
        "WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq",
        [schema],
    )
    keys: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for table, key_id, parent, column, parent_column in cursor.fetchall():
        keys.setdefault((table, key_id), []).append((parent, column, parent_column))
    return keys


def _indexes(cursor: Any, schema: str) -> list[tuple[str, bool, tuple[str, ...]]]:
    """(table, unique, columns) of every index that is on plain columns and not partial."""
    cursor.execute(
        f'SELECT m.name, l.name, l."unique", i.name '  # noqa: S608 (schema: from PRAGMA database_list, quoted)
        f"FROM {_quote(schema)}.sqlite_master m, pragma_index_list(m.name, %s) l, "
        "pragma_index_info(l.name, %s) i "
        "WHERE m.type = 'table' AND l.partial = 0 ORDER BY m.name, l.name, i.seqno",
        [schema, schema],
    )
    found: dict[tuple[str, str], tuple[bool, list[str | None]]] = {}
    for table, index, unique, column in cursor.fetchall():
        found.setdefault((table, index), (bool(unique), []))[1].append(column)
    return [
        (table, unique, tuple(c for c in columns if c is not None))
        for (table, _), (unique, columns) in found.items()
        if None not in columns  # an expression index
    ]


def _read_schema(cursor: Any, schema: str, items: Items, tables: set[tuple[str, str]]) -> None:
    columns = _columns(cursor, schema)
    for table in _tables(cursor, schema):
        tables.add((schema, table))
        items[(schema, table, "table", ())] = True
        rows = columns.get(table, [])
        pk = [row for row in sorted(rows, key=lambda r: r[4]) if row[4]]
        # A single INTEGER primary key is the rowid: it numbers new rows itself.
        rowid = len(pk) == 1 and str(pk[0][1]).strip().upper() == "INTEGER"
        for name, declared, notnull, default, in_pk in rows:
            auto = rowid and bool(in_pk)
            items[(schema, table, "column", (name,))] = Column(
                canonical_sqlite_type(str(declared)),
                not notnull and not in_pk,
                None if auto else canonical_default(default),
                auto,
            )
        if pk:
            items[(schema, table, "pk", ())] = tuple(row[0] for row in pk)
    for table, unique, cols in _indexes(cursor, schema):
        items[(schema, table, "index", cols)] = True
        if unique:
            items[(schema, table, "unique", tuple(sorted(cols)))] = True
    for (table, _), rows in _foreign_keys(cursor, schema).items():
        parent = rows[0][0]
        targets = tuple(row[2] for row in rows)
        if None in targets:  # REFERENCES parent: the parent's primary key
            targets = items.get((schema, parent, "pk", ()), ())
        items[(schema, table, "fk", tuple(row[1] for row in rows))] = Reference(
            schema, parent, tuple(targets)
        )


def unenforceable_foreign_keys(
    items: Items, tables: set[tuple[str, str]]
) -> list[UnenforceableKey]:
    """Foreign keys SQLite cannot check: the target is missing, or not a primary or unique key."""
    found: list[UnenforceableKey] = []
    for key, target in sorted(items.items()):
        if key[2] != "fk":
            continue
        schema, table, _, columns = key
        if (target.schema, target.table) not in tables:
            reason = "a table that does not exist"
        elif not target.columns or len(target.columns) != len(columns):
            reason = "which has no primary key to point at"
        elif items.get((target.schema, target.table, "pk", ())) == target.columns or items.get(
            (target.schema, target.table, "unique", tuple(sorted(target.columns)))
        ):
            continue
        else:
            reason = "which is neither its primary key nor unique"
        found.append(UnenforceableKey(schema, table, columns, target, reason))
    return found


def read_sqlite_catalog(
    connection: BaseDatabaseWrapper, schemas: Iterable[str] | None = None
) -> Catalog:
    """Every table of the main database and the attached schemas (or only ``schemas``)."""
    items: Items = {}
    tables: set[tuple[str, str]] = set()
    with connection.cursor() as cursor:
        present = sqlite_schemas(cursor)
        wanted = present if schemas is None else [s for s in present if s in set(schemas)]
        for schema in wanted:
            _read_schema(cursor, schema, items, tables)
    return Catalog(
        items,
        ["main"],
        tables,
        vendor="sqlite",
        unenforceable=unenforceable_foreign_keys(items, tables),
    )
