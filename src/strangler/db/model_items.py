"""The items a live Django model's table should have, as Django would create it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from .catalog import Catalog
from .items import Items, add_composite_pk, add_field_items, add_table_keys

__all__ = ["model_items", "models_with_tables"]


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
        reference = None
        if field.remote_field is not None and getattr(field, "db_constraint", False):
            target = field.target_field  # type: ignore[attr-defined]
            reference = catalog.reference(schema, target.model._meta.db_table, str(target.column))
        add_field_items(items, (schema, table), field, db_type, reference, catalog, editor)
    add_composite_pk(items, (schema, table), getattr(opts.pk, "field_names", ()), columns_of)
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
