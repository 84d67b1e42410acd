"""SQLite operations: ``RETURNING`` takes bare column names."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import operations

__all__ = ["DatabaseOperations"]


class DatabaseOperations(operations.DatabaseOperations):
    """Django's SQLite operations, minus the table qualifier SQLite rejects in RETURNING.

    Django writes ``RETURNING "table"."id"``; with a schema that becomes
    ``"labs"."sample"."id"``, which SQLite refuses ("no such column"). The
    columns of the statement's own table need no qualifier at all.
    """

    def returning_columns(self, fields: Any) -> tuple[str, tuple[Any, ...]]:
        """``RETURNING`` with bare column names (the Django 6 name of the hook)."""
        if not fields:
            return "", ()
        columns = ", ".join(self.quote_name(field.column) for field in fields)
        return f"RETURNING {columns}", ()

    # Django 5.2 calls it return_insert_columns; 6.0 renamed it (and uses it
    # for UPDATE ... RETURNING too).
    return_insert_columns = returning_columns
