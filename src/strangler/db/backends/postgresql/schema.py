"""DDL for tables in schemas: create the schema first, qualify index and sequence names."""

from __future__ import annotations

from typing import Any

from django.db.backends.ddl_references import Statement
from django.db.backends.postgresql import schema
from django.db.models import Model

from ...schemas import qualify, split_table

__all__ = ["DatabaseSchemaEditor"]


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    """Django's PostgreSQL schema editor for tables named ``'"schema"."table"'``.

    An index lives in its table's schema, but ``DROP INDEX`` and ``ALTER INDEX``
    take the index's own name, which PostgreSQL resolves on ``search_path``:
    Django's bare name would miss (and ``IF EXISTS`` would hide that), so those
    names are qualified here.
    """

    sql_create_schema = "CREATE SCHEMA %(schema)s"
    # SET CONSTRAINTS resolves the constraint's name on search_path too.
    sql_delete_fk = (
        "SET CONSTRAINTS %(namespace)s%(name)s IMMEDIATE; "
        "ALTER TABLE %(table)s DROP CONSTRAINT %(name)s"
    )
    sql_set_schema = "ALTER TABLE %(table)s SET SCHEMA %(schema)s"

    def ensure_schema(self, name: str) -> None:
        """Create schema ``name`` unless it exists (asking first: no CREATE privilege needed)."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", [name])
            if cursor.fetchone():
                return
        self.execute(self.sql_create_schema % {"schema": self.quote_name(name)})

    def create_model(self, model: type[Model]) -> None:
        """Create the model's schema before its table (the test database starts empty)."""
        table_schema = split_table(model._meta.db_table).schema
        if table_schema is not None:
            self.ensure_schema(table_schema)
        super().create_model(model)

    def alter_db_table(self, model: type[Model], old_db_table: str, new_db_table: str) -> None:
        """Rename a table, moving it to another schema first when that changed.

        ``RENAME TO`` takes a bare name, so a qualified rename is split into
        ``SET SCHEMA`` (which moves the table's indexes and owned sequences
        along) and ``RENAME TO``.
        """
        old, new = split_table(old_db_table), split_table(new_db_table)
        if old.schema is None and new.schema is None:
            super().alter_db_table(model, old_db_table, new_db_table)
            return
        if old == new:
            return
        if old.schema != new.schema:
            target = new.schema or self._current_schema()
            if new.schema is not None:
                self.ensure_schema(new.schema)
            self.execute(
                self.sql_set_schema
                % {"table": self.quote_name(old_db_table), "schema": self.quote_name(target)}
            )
        if old.name != new.name:
            self.execute(
                self.sql_rename_table
                % {
                    "old_table": self.quote_name(qualify(new.schema, old.name)),
                    "new_table": self.quote_name(new.name),
                }
            )
        for sql in self.deferred_sql:
            if isinstance(sql, Statement):
                sql.rename_table_references(old_db_table, new_db_table)

    def _current_schema(self) -> str:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            return str(cursor.fetchone()[0])

    def _qualified_index(self, model: type[Model], name: str) -> str:
        return self.quote_name(qualify(split_table(model._meta.db_table).schema, name))

    def _delete_index_sql(
        self, model: type[Model], name: str, *args: Any, **kwargs: Any
    ) -> Statement:
        statement: Statement = super()._delete_index_sql(model, name, *args, **kwargs)  # type: ignore[misc]
        parts: dict[str, Any] = statement.parts
        parts["name"] = self._qualified_index(model, name)
        return statement

    def _delete_fk_sql(self, model: type[Model], name: str) -> Statement:
        statement: Statement = super()._delete_fk_sql(model, name)  # type: ignore[misc]
        table_schema = split_table(model._meta.db_table).schema
        parts: dict[str, Any] = statement.parts
        parts["namespace"] = f"{self.quote_name(table_schema)}." if table_schema else ""
        return statement

    def _rename_index_sql(self, model: type[Model], old_name: str, new_name: str) -> Statement:
        statement: Statement = super()._rename_index_sql(model, old_name, new_name)  # type: ignore[misc]
        parts: dict[str, Any] = statement.parts
        parts["old_name"] = self._qualified_index(model, old_name)
        return statement
