"""SQLite operations: ``RETURNING`` takes bare column names."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import operations

__all__ = ["DatabaseOperations"]


class DatabaseOperations(operations.DatabaseOperations):
    """Django's SQLite operations, minus the table qualifier SQLite rejects in RETURNING.

    Django writes ``RETURNING "table"."id"``; with a schema that becomes
    ``"labs"."sample"."id"``, which SQLite refuses ("no such column"). The
    columns of an INSERT's own table need no qualifier at all.
    """

    def return_insert_columns(self, fields: Any) -> tuple[str, tuple[Any, ...]]:
        if not fields:
            return "", ()
        columns = ", ".join(self.quote_name(field.column) for field in fields)
        return f"RETURNING {columns}", ()
