"""Django's PostgreSQL ``DatabaseWrapper`` with schema-aware introspection and DDL."""

from __future__ import annotations

from django.db.backends.postgresql import base

from .introspection import DatabaseIntrospection
from .schema import DatabaseSchemaEditor

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(base.DatabaseWrapper):
    """Stock PostgreSQL, except that tables written ``'"schema"."table"'`` are found."""

    SchemaEditorClass = DatabaseSchemaEditor
    introspection_class = DatabaseIntrospection
