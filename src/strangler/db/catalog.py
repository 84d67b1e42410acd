"""What a table is made of, read from the live catalog or derived from a Django model.

Both sides are reduced to the same *items*, keyed by (schema, table, kind,
columns), so that "does the database already have what this migration
creates?" is a dictionary comparison:

=========  ============================  =======================================
kind       columns                       value
=========  ============================  =======================================
table      ``()``                        ``True``
column     ``(name,)``                   ``Column(type, nullable, default, auto)``
pk         ``()``                        the primary key's columns
fk         the referencing columns       ``Reference(schema, table, columns)``
unique     the columns, sorted           ``True``
index      the columns, in order         ``True``
=========  ============================  =======================================

Indexes and unique keys are matched by their columns, never by their names:
Alembic and Django name them differently. Expression and partial indexes,
check constraints and deferrability are not compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import NOT_PROVIDED, Index, Model, UniqueConstraint

from .schemas import split_table

__all__ = [
    "Catalog",
    "Column",
    "ItemKey",
    "Items",
    "Reference",
    "canonical_default",
    "canonical_type",
    "describe_item",
    "model_items",
    "read_catalog",
]

ItemKey = tuple[str, str, str, tuple[str, ...]]
Items = dict[ItemKey, Any]

AUTO_FIELDS = {"AutoField", "BigAutoField", "SmallAutoField"}


@dataclass(frozen=True)
class Column:
    """A column as the comparison sees it: canonical type, nullability, default."""

    type: str
    nullable: bool
    default: str | None = None
    auto: bool = False  # an identity column, or a serial one (nextval default)

    def __str__(self) -> str:
        text = f"{self.type} {'NULL' if self.nullable else 'NOT NULL'}"
        if self.auto:
            return f"{text} auto-increment"
        return f"{text} DEFAULT {self.default}" if self.default is not None else text


@dataclass(frozen=True)
class Reference:
    """The target of a foreign key."""

    schema: str
    table: str
    columns: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}({', '.join(self.columns)})"


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
    if base == "varchar" and args == "":
        base = "varchar"
    return f"{base}{args}{match['array']}"


_CAST = re.compile(r"::[a-z_][a-z0-9_ ]*(\(\d+(,\d+)?\))?(\[\])?$", re.IGNORECASE)
_NOW = {"now()", "current_timestamp", "transaction_timestamp()", "statement_timestamp()"}


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


def describe_item(key: ItemKey, value: Any) -> str:
    """The item as a user reads it in a difference: ``varchar(50) NULL``, ``an index``."""
    kind = key[2]
    if value is None:
        return {
            "table": "missing",
            "column": "missing",
            "pk": "no primary key",
            "fk": "no foreign key",
            "unique": "not unique",
            "index": "no index",
        }[kind]
    if kind == "pk":
        return f"primary key ({', '.join(value)})"
    if kind == "fk":
        return f"a foreign key to {value}"
    return {"table": "present", "unique": "unique", "index": "an index"}.get(kind, str(value))


def item_subject(key: ItemKey) -> str:
    """What a difference is about: ``labs.sample.name``, ``labs.sample (a, b)``."""
    schema, table, kind, columns = key
    if kind == "column" or (kind == "fk" and len(columns) == 1):
        return f"{schema}.{table}.{columns[0]}"
    if kind in ("table", "pk"):
        return f"{schema}.{table}"
    return f"{schema}.{table} ({', '.join(columns)})"


@dataclass
class Catalog:
    """The live tables of one PostgreSQL database, as items, with its ``search_path``."""

    items: Items
    search_path: list[str]
    tables: set[tuple[str, str]]

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
    """Read every table of the given schemas (default: all but PostgreSQL's) in four queries."""
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


def models_with_tables(
    connection: BaseDatabaseWrapper,
    models: Iterable[type[Model]],
    *,
    include_unmanaged: bool = False,
) -> Iterator[type[Model]]:
    """The models (and their auto-created M2M tables) this database holds a table for.

    Unmanaged models are left out unless ``include_unmanaged``: no migration
    creates their tables, but they still map them.
    """
    seen: set[type[Model]] = set()
    for model in models:
        candidates: list[Any] = [model]
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if through is not None and through._meta.auto_created:
                candidates.append(through)
        for candidate in candidates:
            opts = candidate._meta
            if candidate in seen or opts.proxy or opts.swapped:
                continue
            if not (opts.managed or include_unmanaged):
                continue
            if not router.allow_migrate_model(connection.alias, candidate):
                continue
            seen.add(candidate)
            yield candidate


def model_items(
    connection: BaseDatabaseWrapper, model: type[Model], catalog: Catalog, editor: Any
) -> Items:
    """The items the table of ``model`` should have, as Django would create it."""
    opts = model._meta
    schema, table = catalog.resolve(opts.db_table)
    items: Items = {(schema, table, "table", ()): True}
    columns_of = {field.name: str(field.column) for field in opts.local_fields}
    for field in opts.local_fields:
        db_type = field.db_parameters(connection=connection)["type"]
        if db_type is None or field.column is None:
            continue
        column = field.column
        auto = field.get_internal_type() in AUTO_FIELDS
        default = None
        if not auto and field.db_default is not NOT_PROVIDED:
            sql, params = editor.db_default_sql(field)
            default = canonical_default(sql % tuple(editor.quote_value(p) for p in params))
        nullable = field.null and not field.primary_key
        items[(schema, table, "column", (column,))] = Column(
            canonical_type(db_type), nullable, default, auto
        )
        if field.primary_key:
            items[(schema, table, "pk", ())] = (column,)
        elif field.unique:
            items[(schema, table, "unique", (column,))] = True
        elif getattr(field, "db_index", False):
            items[(schema, table, "index", (column,))] = True
        remote = field.remote_field
        if remote is not None and getattr(field, "db_constraint", False):
            target = field.target_field  # type: ignore[attr-defined]
            ref_schema, ref_table = catalog.resolve(target.model._meta.db_table)
            items[(schema, table, "fk", (column,))] = Reference(
                ref_schema, ref_table, (target.column,)
            )
    composite = getattr(opts.pk, "field_names", None)
    if composite:  # CompositePrimaryKey: no column of its own
        items[(schema, table, "pk", ())] = tuple(columns_of[name] for name in composite)
    add_table_keys(
        items,
        schema,
        table,
        columns_of,
        unique_together=opts.unique_together,
        constraints=opts.constraints,
        indexes=opts.indexes,
    )
    return items


def add_table_keys(
    items: Items,
    schema: str,
    table: str,
    columns_of: dict[str, str],
    *,
    unique_together: Iterable[Iterable[str]],
    constraints: Iterable[Any],
    indexes: Iterable[Any],
) -> None:
    """Add a table's multi-column unique keys and indexes, matched by columns.

    Shared by the live models (``model_items``) and the migration state
    (``strangler.db.state``) so both describe a table the same way. Partial
    and expression constraints and indexes are not compared.
    """
    for together in unique_together:
        cols = tuple(sorted(columns_of[name] for name in together))
        items[(schema, table, "unique", cols)] = True
    for constraint in constraints:
        if (
            isinstance(constraint, UniqueConstraint)
            and constraint.fields
            and constraint.condition is None
        ):
            cols = tuple(sorted(columns_of[name] for name in constraint.fields))
            items[(schema, table, "unique", cols)] = True
    for index in indexes:
        if isinstance(index, Index) and index.fields and index.condition is None:
            cols = tuple(columns_of[name.lstrip("-")] for name in index.fields)
            items[(schema, table, "index", cols)] = True
