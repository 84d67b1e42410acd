"""What a table is made of, as *items* that both sides of a comparison reduce to.

The live catalog (``strangler.db.catalog``), Django's models (live ones in
``strangler.db.model_items``, migration states in ``strangler.db.state``) and
SQLAlchemy's tables (``strangler.db.drift``) are all reduced to items keyed by
(schema, table, kind, columns), so that "does the database already have what
this migration creates?" is a dictionary comparison:

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

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import NOT_PROVIDED, Index, UniqueConstraint

from .types import canonical_default

__all__ = [
    "AUTO_FIELDS",
    "Column",
    "ItemKey",
    "Items",
    "Reference",
    "add_composite_pk",
    "add_field_items",
    "add_table_keys",
    "same_item",
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


def same_item(declared: Any, live: Any) -> bool:
    """Whether the database's item is what a model (or migration) declares.

    A column default the model does not declare is one Django never relies on:
    it always sends a value. Flask may still rely on it, so it is left alone.
    """
    if isinstance(declared, Column) and isinstance(live, Column):
        if (declared.type, declared.nullable) != (live.type, live.nullable):
            return False
        if declared.auto:
            return live.auto
        return declared.default is None or declared.default == live.default
    return bool(declared == live)


def add_field_items(
    items: Items,
    where: tuple[str, str],
    field: Any,
    db_type: str,
    reference: Reference | None,
    catalog: Any,
    editor: Any,
) -> None:
    """Add one concrete field's items: its column, its key or index, its foreign key.

    Shared by the live models and the migration states, which differ only in
    how they find the column's type and the foreign key's target (passed in);
    ``catalog`` says how the database spells types.
    """
    schema, table = where
    column = str(field.column)
    auto = field.get_internal_type() in AUTO_FIELDS
    default = None
    if not auto and field.db_default is not NOT_PROVIDED:
        sql, params = editor.db_default_sql(field)
        # SQLite's editor has already put the values in (its SQL may hold a bare %).
        if params:
            sql = sql % tuple(editor.quote_value(p) for p in params)
        default = canonical_default(sql)
    nullable = bool(field.null) and not field.primary_key
    items[(schema, table, "column", (column,))] = Column(
        catalog.canonical_type(db_type), nullable, default, auto
    )
    if field.primary_key:
        items[(schema, table, "pk", ())] = (column,)
    elif field.unique:
        items[(schema, table, "unique", (column,))] = True
    elif getattr(field, "db_index", False):
        items[(schema, table, "index", (column,))] = True
    if reference is not None:
        items[(schema, table, "fk", (column,))] = reference


def add_composite_pk(
    items: Items, where: tuple[str, str], field_names: Iterable[str], columns_of: dict[str, str]
) -> None:
    """A ``CompositePrimaryKey`` (no column of its own), once its fields are all known.

    In a migration state it can name fields the state does not have yet:
    Django leaves foreign keys out of an unmanaged model's ``CreateModel`` and
    adds them (``AddField``) only once the model is managed.
    """
    names = list(field_names)
    if names and all(name in columns_of for name in names):
        items[(*where, "pk", ())] = tuple(columns_of[name] for name in names)


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

    Partial and expression constraints and indexes are not compared.
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
