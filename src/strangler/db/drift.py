"""Drift: where the Django model, the SQLAlchemy model and the live table disagree.

Each side is reduced to the items of ``strangler.db.catalog`` and compared with
the live database: columns (type, nullability, and a default the model
declares), primary keys, foreign keys and unique keys. Indexes are left out:
a missing index is slow, not wrong. A column or key the database has but a
model lacks is drift too (the model cannot read or keep it), reported per model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from .catalog import Catalog, read_catalog
from .describe import describe_item, item_subject
from .items import Column, Items, Reference, same_item
from .model_items import model_items, models_with_tables
from .schemas import qualify
from .types import canonical_default

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

__all__ = ["find_drift", "sqlalchemy_items"]

COMPARED = ("table", "column", "pk", "fk", "unique")


def sqlalchemy_items(table: Table, catalog: Catalog) -> Items:
    """The items of a SQLAlchemy ``Table``, as the catalog's database would create it."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = (sqlite if catalog.vendor == "sqlite" else postgresql).dialect()
    schema, name = catalog.resolve(qualify(table.schema, table.name))
    items: Items = {(schema, name, "table", ()): True}
    autoincrement = table.autoincrement_column
    for column in table.columns:
        auto = column is autoincrement or column.identity is not None
        items[(schema, name, "column", (column.name,))] = Column(
            catalog.canonical_type(str(column.type.compile(dialect=dialect))),
            bool(column.nullable) and not column.primary_key,
            None if auto else canonical_default(_server_default(column, dialect)),
            auto,
        )
    if table.primary_key.columns:
        items[(schema, name, "pk", ())] = tuple(c.name for c in table.primary_key.columns)
    for constraint in table.foreign_key_constraints:
        target = constraint.referred_table
        ref_schema, ref_name = catalog.resolve(qualify(target.schema, target.name))
        if catalog.declares_fk(schema, ref_schema):
            items[(schema, name, "fk", tuple(c.name for c in constraint.columns))] = Reference(
                ref_schema, ref_name, tuple(element.column.name for element in constraint.elements)
            )
    for columns in _unique_keys(table):
        items[(schema, name, "unique", columns)] = True
    return items


def _server_default(column: Any, dialect: Any) -> str | None:
    """A column's ``server_default`` as SQL, or None."""
    server_default = column.server_default
    if server_default is None or not hasattr(server_default, "arg"):
        return None
    arg = server_default.arg
    if isinstance(arg, str):
        return "'" + arg.replace("'", "''") + "'"
    return str(arg.compile(dialect=dialect))


def _unique_keys(table: Table) -> set[tuple[str, ...]]:
    """The sorted columns of every unique key: constraints, ``unique=True``, unique indexes."""
    from sqlalchemy import Index, UniqueConstraint

    keys = {
        tuple(sorted(c.name for c in constraint.columns))
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint) and constraint.columns
    }
    keys |= {(column.name,) for column in table.columns if column.unique}
    keys |= {
        tuple(sorted(c.name for c in index.columns))
        for index in table.indexes
        if isinstance(index, Index) and index.unique and index.columns
    }
    return keys


def _compare(side: str, declared: Items, live: Items, tables: set[tuple[str, str]]) -> list[str]:
    drift: list[str] = []
    for key in sorted(declared):
        if key[2] not in COMPARED:
            continue
        if key[2] != "table" and key[:2] not in tables:
            continue  # the table itself is reported missing
        want, have = declared[key], live.get(key)
        if have is None and key[2] == "table":
            drift.append(f"{item_subject(key)}: in the {side} model, missing in the database")
        elif not same_item(want, have):
            drift.append(
                f"{item_subject(key)}: {describe_item(key, want)} in the {side} model, "
                f"{describe_item(key, have)} in the database"
            )
    declared_tables = {key[:2] for key in declared}
    for key in sorted(live):
        if key[2] in COMPARED and key[:2] in declared_tables and key not in declared:
            primary_key = live.get((*key[:2], "pk", ()))
            if key[2] == "unique" and primary_key and tuple(sorted(primary_key)) == key[3]:
                continue  # the primary key's own unique index
            drift.append(
                f"{item_subject(key)}: {describe_item(key, live[key])} in the database, "
                f"{describe_item(key, None)} in the {side} model"
            )
    return drift


def find_drift(
    connection: BaseDatabaseWrapper,
    models: Iterable[type[Model]],
    metadata: MetaData | None = None,
    schemas: Iterable[str] | None = None,
) -> list[str]:
    """One line per disagreement between the models (Django, SQLAlchemy) and the database.

    ``models`` are Django models, managed or not; ``schemas`` limits the tables
    compared (default: every table either side declares).
    """
    catalog = read_catalog(connection)
    wanted = set(schemas) if schemas is not None else None
    django_items: Items = {}
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for model in models_with_tables(connection, models, include_unmanaged=True):
            django_items.update(model_items(connection, model, catalog, editor))
    alchemy_items: Items = {}
    if metadata is not None:
        for table in metadata.tables.values():
            alchemy_items.update(sqlalchemy_items(table, catalog))
    if wanted is not None:
        django_items = {k: v for k, v in django_items.items() if k[0] in wanted}
        alchemy_items = {k: v for k, v in alchemy_items.items() if k[0] in wanted}
    drift = _compare("Django", django_items, catalog.items, catalog.tables)
    drift += _compare("SQLAlchemy", alchemy_items, catalog.items, catalog.tables)
    declared = {key[:2] for key in (*django_items, *alchemy_items)}
    drift += [
        f"{key}: SQLite cannot enforce it (foreign key mismatch); see strangler.W042"
        for key in catalog.unenforceable
        if (key.schema, key.table) in declared
    ]
    return drift
