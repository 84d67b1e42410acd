"""System checks for the database side (E040-E059, W040-W059; see docs/checks.md)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import connections, router

from ..conf import get_conf
from .ownership import MetadataError, alembic_tables, django_migrated_tables, load_metadata
from .schemas import split_table

# Stock backends that store a schema-qualified table but cannot find it again.
STOCK_BACKENDS = {
    "django.db.backends.postgresql": "strangler.db.backends.postgresql",
    "django.db.backends.sqlite3": "strangler.db.backends.sqlite3",
}


@register(Tags.models)
def check_table_ownership(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each table has one owner: no table is both Django-migrated and in Alembic's metadata."""
    path = get_conf()["SQLALCHEMY_METADATA"]
    if path is None:
        return []
    try:
        metadata = load_metadata(path)
    except MetadataError as exc:
        return [
            Error(
                f"STRANGLER['SQLALCHEMY_METADATA'] cannot be loaded: {exc}.",
                hint="Name the legacy app's declarative base or MetaData, e.g. "
                "'legacy.models:Base', importable from the Django project.",
                id="strangler.E040",
            )
        ]
    legacy = alembic_tables(metadata)
    messages: list[CheckMessage] = []
    for key, model in sorted(django_migrated_tables().items()):
        if key in legacy:
            schema, table = key
            messages.append(
                Warning(
                    f"Table {schema}.{table} is created by a Django migration and is still "
                    f"in the Alembic metadata ({path}): both would migrate it.",
                    hint="Hand it over: set info={'strangler_owner': 'django'} on the "
                    "SQLAlchemy table and use strangler.alembic.include_object in Alembic's env.py "
                    "(docs/database.md), or make the model managed = False.",
                    obj=model,
                    id="strangler.W040",
                )
            )
    return messages


@register(Tags.models)
def check_schema_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Models in schemas live on a database using a strangler backend."""
    schema_models = [
        model for model in apps.get_models() if split_table(model._meta.db_table).schema
    ]
    messages: list[CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        engine = database.get("ENGINE", "")
        if engine not in STOCK_BACKENDS:
            continue
        stuck = [m for m in schema_models if router.allow_migrate_model(alias, m)]
        if stuck:
            names = ", ".join(m._meta.label for m in stuck[:3]) + ("..." if len(stuck) > 3 else "")
            messages.append(
                Warning(
                    f"Database {alias!r} uses {engine}, which cannot find tables in schemas "
                    f"again (index and key removal, the primary key's sequence, flush, test "
                    f"databases), but holds models in schemas: {names}.",
                    hint=f"Set DATABASES[{alias!r}]['ENGINE'] = {STOCK_BACKENDS[engine]!r}.",
                    id="strangler.W041",
                )
            )
    return messages


@register(Tags.database)
def check_sqlite_foreign_keys(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Foreign keys SQLite stores but cannot enforce (checked by migrate, check --database)."""
    messages: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "sqlite":
            continue
        connection.ensure_connection()
        for key in getattr(connection, "unenforceable_foreign_keys", ()):
            messages.append(
                Warning(
                    f"{key}: SQLite stores this foreign key but cannot enforce it (every check "
                    f"fails with 'foreign key mismatch'), so foreign keys are not enforced on "
                    f"database {alias!r}, as the legacy app ran.",
                    hint="If the target values are unique, add a unique index on them (or point "
                    "the key at the primary key); enforcement is back on the next connection. "
                    "See docs/database.md, 'Foreign keys SQLite cannot enforce'.",
                    id="strangler.W042",
                )
            )
    return messages
