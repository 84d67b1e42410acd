"""Catalog items of a migration state's models, read from ``ModelState`` without rendering.

Rendering a project state (building real model classes, as ``migrate`` does)
re-renders every related model after each operation: with long chains of
foreign keys a plan of a few hundred models takes minutes. The items only need
each field's column, type and keys, which an unbound field can answer once its
name is set; the types of foreign keys are looked up on their target's
``ModelState``. ``tests/db/test_state.py`` holds these items equal to those of
the rendered models (``model_items.model_items``) for real apps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps as real_apps
from django.conf import settings
from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import strip_quotes, truncate_name
from django.db.migrations.state import ProjectState
from django.db.models import Field
from django.utils.module_loading import import_string

from .catalog import Catalog
from .items import (
    Column,
    Items,
    add_composite_pk,
    add_field_items,
    add_table_keys,
)

__all__ = ["ModelKey", "referencing_models", "state_items"]

ModelKey = tuple[str, str]


def _remote(field: Field[Any, Any]) -> Any:
    return field.remote_field


def _target_key(app_label: str, model_name: str, ref: Any) -> ModelKey:
    if not isinstance(ref, str):
        return (ref._meta.app_label, ref._meta.model_name)
    if ref == "self":
        return (app_label, model_name)
    if "." in ref:
        app, name = ref.split(".", 1)
        return (app, name.lower())
    return (app_label, ref.lower())


class _StateReader:
    def __init__(self, connection: BaseDatabaseWrapper, state: ProjectState) -> None:
        self.connection = connection
        self.state = state
        self._bound: dict[ModelKey, dict[str, Field[Any, Any]]] = {}

    def fields(self, key: ModelKey) -> dict[str, Field[Any, Any]]:
        """The model's concrete fields, cloned and named (column, attname set)."""
        if key not in self._bound:
            bound: dict[str, Field[Any, Any]] = {}
            for name, field in self.state.models[key].fields.items():
                clone = field.clone()
                clone.set_attributes_from_name(name)
                clone.model = None
                bound[name] = clone
            self._bound[key] = bound
        return self._bound[key]

    def db_table(self, key: ModelKey) -> str:
        if key not in self.state.models:
            return str(real_apps.get_model(*key)._meta.db_table)
        table = self.state.models[key].options.get("db_table")
        if table:
            return str(table)
        return truncate_name(f"{key[0]}_{key[1]}", self.connection.ops.max_name_length())

    def target(self, key: ModelKey, field: Field[Any, Any]) -> tuple[ModelKey, Any]:
        """The model and field a relation points at."""
        target_key = _target_key(key[0], key[1], _remote(field).model)
        to_field = getattr(field.remote_field, "field_name", None)
        if target_key not in self.state.models:  # an unmigrated app's real model
            model = real_apps.get_model(*target_key)
            return target_key, model._meta.get_field(to_field) if to_field else model._meta.pk
        fields = self.fields(target_key)
        if to_field:
            return target_key, fields[to_field]
        for candidate in fields.values():
            if candidate.primary_key:
                return target_key, candidate
        raise LookupError(f"no primary key on {target_key[0]}.{target_key[1]}")

    def rel_type(self, key: ModelKey, field: Field[Any, Any], depth: int = 0) -> str | None:
        """The column type of a field that points at ``field`` (its ``rel_db_type``)."""
        if field.is_relation and (field.many_to_one or field.one_to_one) and depth < 10:
            target_key, target = self.target(key, field)
            return self.rel_type(target_key, target, depth + 1)
        return field.rel_db_type(self.connection)

    def column_type(self, key: ModelKey, field: Field[Any, Any]) -> str | None:
        if field.is_relation and (field.many_to_one or field.one_to_one):
            target_key, target = self.target(key, field)
            return self.rel_type(target_key, target)
        return field.db_parameters(connection=self.connection)["type"]

    def has_table(self, key: ModelKey) -> bool:
        options = self.state.models[key].options
        if options.get("proxy") or not options.get("managed", True):
            return False
        swappable = options.get("swappable")
        if swappable:
            model_state = self.state.models[key]
            if getattr(settings, swappable, None) not in (None, f"{key[0]}.{model_state.name}"):
                return False
        return router.allow_migrate(self.connection.alias, key[0], model_name=key[1]) is not False


def referencing_models(state: ProjectState, keys: Iterable[ModelKey]) -> set[ModelKey]:
    """The models of ``state`` with a relation to one of ``keys``."""
    wanted = set(keys)
    found: set[ModelKey] = set()
    for key, model_state in state.models.items():
        for field in model_state.fields.values():
            remote = field.remote_field
            if remote is not None and _target_key(key[0], key[1], remote.model) in wanted:
                found.add(key)
                break
    return found


def state_items(
    connection: BaseDatabaseWrapper,
    state: ProjectState,
    keys: Iterable[ModelKey],
    catalog: Catalog,
    editor: Any,
) -> Items:
    """The items of the tables (and auto-created M2M tables) of ``keys`` in ``state``."""
    reader = _StateReader(connection, state)
    items: Items = {}
    for key in sorted(set(keys)):
        if key in state.models and reader.has_table(key):
            _model(reader, key, catalog, editor, items)
    return items


def _model(
    reader: _StateReader, key: ModelKey, catalog: Catalog, editor: Any, items: Items
) -> None:
    db_table = reader.db_table(key)
    schema, table = catalog.resolve(db_table)
    items[(schema, table, "table", ())] = True
    fields = reader.fields(key)
    columns_of = {name: str(field.column) for name, field in fields.items() if field.column}
    for field in fields.values():
        if field.many_to_many:
            _auto_through(reader, key, field, db_table, catalog, items)
            continue
        db_type = reader.column_type(key, field)
        if db_type is None or not field.column:
            continue
        reference = None
        if field.is_relation and getattr(field, "db_constraint", False):
            target_key, target = reader.target(key, field)
            reference = catalog.reference(schema, reader.db_table(target_key), str(target.column))
        add_field_items(items, (schema, table), field, db_type, reference, catalog, editor)
    composite = next(
        (getattr(f, "field_names", ()) for f in fields.values() if f.primary_key and not f.column),
        (),
    )
    add_composite_pk(items, (schema, table), composite, columns_of)
    options = reader.state.models[key].options
    add_table_keys(
        items,
        schema,
        table,
        columns_of,
        unique_together=options.get("unique_together", ()),
        constraints=options.get("constraints", ()),
        indexes=options.get("indexes", ()),
    )


def _auto_through(
    reader: _StateReader,
    key: ModelKey,
    field: Field[Any, Any],
    db_table: str,
    catalog: Catalog,
    items: Items,
) -> None:
    """The table Django creates for a many-to-many field without ``through``."""
    if _remote(field).through is not None:
        return  # a model of its own, with its own ModelState
    connection = reader.connection
    through_table = getattr(field, "db_table", None) or truncate_name(
        f"{strip_quotes(db_table)}_{field.name}", connection.ops.max_name_length()
    )
    schema, table = catalog.resolve(through_table)
    target_key = _target_key(key[0], key[1], _remote(field).model)
    from_name, to_name = key[1], target_key[1]
    if from_name == to_name:
        from_name, to_name = f"from_{from_name}", f"to_{to_name}"
    # State apps give it settings.DEFAULT_AUTO_FIELD, whatever the app config says.
    pk = import_string(settings.DEFAULT_AUTO_FIELD)()
    items[(schema, table, "table", ())] = True
    items[(schema, table, "column", ("id",))] = Column(
        catalog.canonical_type(str(pk.db_type(connection))), False, None, True
    )
    items[(schema, table, "pk", ())] = ("id",)
    columns = []
    for name, side in ((from_name, key), (to_name, target_key)):
        column = f"{name}_id"
        columns.append(column)
        pk_key, pk_field = _primary_key(reader, side)
        items[(schema, table, "column", (column,))] = Column(
            catalog.canonical_type(str(reader.rel_type(pk_key, pk_field))), False
        )
        items[(schema, table, "index", (column,))] = True
        reference = catalog.reference(schema, reader.db_table(side), str(pk_field.column))
        if getattr(field, "db_constraint", True) and reference is not None:
            items[(schema, table, "fk", (column,))] = reference
    items[(schema, table, "unique", tuple(sorted(columns)))] = True


def _primary_key(reader: _StateReader, key: ModelKey) -> tuple[ModelKey, Any]:
    if key not in reader.state.models:
        return key, real_apps.get_model(*key)._meta.pk
    for candidate in reader.fields(key).values():
        if candidate.primary_key:
            return key, candidate
    raise LookupError(f"no primary key on {key[0]}.{key[1]}")
