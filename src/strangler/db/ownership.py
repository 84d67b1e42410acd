"""Who owns each table: Alembic (the SQLAlchemy metadata) or Django (a migration).

A table moves from Alembic to Django in three steps: the Django model and its
migration appear (``safemigrate`` fakes the migration), the SQLAlchemy table is
marked ``info={"strangler_owner": "django"}``, and the legacy app's Alembic
``include_object`` filter skips tables so marked (see docs/database.md). Until
the second step the table has two owners, which ``manage.py check`` reports.

Names are compared as (schema, table); a bare name on either side is taken to
be in ``public`` (the checks do not connect to the database).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Model

from ..alembic import OWNER_KEY, handed_over
from .schemas import split_table

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

__all__ = [
    "OWNER_KEY",
    "MetadataError",
    "alembic_tables",
    "django_migrated_tables",
    "load_metadata",
    "model_tables",
]

DEFAULT_SCHEMA = "public"


class MetadataError(Exception):
    """``STRANGLER["SQLALCHEMY_METADATA"]`` (or ``--metadata``) cannot be loaded."""


def load_metadata(path: object) -> MetaData:
    """Import ``"package.module:name"``: a SQLAlchemy ``MetaData`` or a declarative base.

    ``name`` may be a dotted path (``db.metadata``, ``db.Model``), and an object
    with a ``metadata`` attribute (Flask-SQLAlchemy's ``db``) stands for it.
    """
    if not isinstance(path, str) or path.count(":") != 1 or not all(path.split(":")):
        raise MetadataError(
            f"{path!r} is not an import path like 'legacy.models:Base' (module:attribute)"
        )
    module_name, attribute = path.split(":")
    try:
        from sqlalchemy import MetaData
    except ImportError:  # pragma: no cover - SQLAlchemy is an extra
        raise MetadataError("SQLAlchemy is not installed (pip install SQLAlchemy)") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MetadataError(f"cannot import {module_name!r}: {exc}") from None
    value: Any = module
    # A dotted attribute path: Flask-SQLAlchemy's metadata is ``app.models:db.metadata``.
    for depth, part in enumerate(attribute.split(".")):
        try:
            value = getattr(value, part)
        except AttributeError:
            owner = ".".join([module_name, *attribute.split(".")[:depth]])
            raise MetadataError(f"{owner!r} has no attribute {part!r}") from None
    metadata = value if isinstance(value, MetaData) else getattr(value, "metadata", None)
    if not isinstance(metadata, MetaData):
        raise MetadataError(
            f"{path} is a {type(value).__name__}, not a SQLAlchemy MetaData or declarative base"
        )
    return metadata


def table_key(schema: str | None, name: str) -> tuple[str, str]:
    return (schema or DEFAULT_SCHEMA, name)


def alembic_tables(metadata: MetaData, *, include_handed_over: bool = False) -> dict[Any, Table]:
    """The metadata's tables by (schema, table), without those handed over to Django."""
    return {
        table_key(table.schema, table.name): table
        for table in metadata.tables.values()
        if include_handed_over or not handed_over(table)
    }


def model_tables(models: Iterable[type[Model]]) -> dict[tuple[str, str], type[Model]]:
    """(schema, table) of each model and of its auto-created many-to-many tables."""
    tables: dict[tuple[str, str], type[Model]] = {}
    for model in models:
        opts = model._meta
        if opts.proxy or opts.swapped:
            continue
        tables[table_key(*split_table(opts.db_table))] = model
        for field in opts.local_many_to_many:
            through = field.remote_field.through
            if through is not None and through._meta.auto_created:
                tables[table_key(*split_table(through._meta.db_table))] = through
    return tables


def django_migrated_tables() -> dict[tuple[str, str], type[Model]]:
    """Tables that a Django migration creates: managed models of apps with migrations."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    models = [
        model
        for model in apps.get_models()
        if model._meta.managed and model._meta.app_label in loader.migrated_apps
    ]
    return model_tables(models)
