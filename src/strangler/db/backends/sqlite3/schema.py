"""DDL for tables in attached schemas: SQLite spells a few statements differently.

Django writes ``CREATE INDEX "i" ON "labs"."t"``, ``REFERENCES "labs"."p"``
and, when it rebuilds a table, ``"new__labs"."t"``. SQLite wants the schema on
the index's name (``CREATE INDEX "labs"."i" ON "t"``), a bare table in
``REFERENCES`` (a foreign key cannot leave its database file, so one into
another schema is not declared: Django still keeps the relation), and the
rebuilt table in the same schema (``"labs"."new__t"``, renamed to a bare
``"t"``). ``execute`` rewrites exactly those spellings; everything else is
Django's SQL untouched.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.backends.ddl_references import Statement
from django.db.backends.sqlite3 import schema
from django.db.models import Model
from django.db.utils import NotSupportedError

from ...schemas import qualify, split_table

__all__ = ["DatabaseSchemaEditor"]

_ID = r'"(?:[^"]|"")+"'
_NEW = re.compile(rf'"new__((?:[^"]|"")+)"\.({_ID})')
_INDEX = re.compile(rf"^(CREATE (?:UNIQUE )?INDEX )({_ID}) ON ({_ID})\.({_ID})", re.IGNORECASE)
_RENAME = re.compile(rf"^(ALTER TABLE {_ID}\.{_ID} RENAME TO ){_ID}\.({_ID})", re.IGNORECASE)
_SOURCE = re.compile(rf"^(?:CREATE TABLE|ALTER TABLE) ({_ID})\.{_ID}", re.IGNORECASE)
_REFERENCES = re.compile(
    rf"\s*REFERENCES ({_ID})\.({_ID}) (\({_ID}\))( DEFERRABLE INITIALLY DEFERRED)?",
    re.IGNORECASE,
)


def sqlite_schema_sql(sql: str) -> str:
    """Django's DDL for a schema-qualified table, as SQLite spells it."""
    sql = _NEW.sub(lambda m: f'"{m[1]}"."new__{m[2][1:]}', sql)
    sql = _INDEX.sub(lambda m: f"{m[1]}{m[3]}.{m[2]} ON {m[4]}", sql)
    sql = _RENAME.sub(lambda m: f"{m[1]}{m[2]}", sql)
    source = _SOURCE.match(sql)
    if source is not None:

        def reference(match: re.Match[str]) -> str:
            if match[1] != source[1]:
                return ""  # across database files: SQLite cannot declare it
            return f" REFERENCES {match[2]} {match[3]}{match[4] or ''}"

        sql = _REFERENCES.sub(reference, sql)
    return sql


def _schema_of(db_table: str) -> str | None:
    """The schema of a model's table, also for the ``new__`` copy Django rebuilds into."""
    table_schema = split_table(db_table).schema
    if table_schema is not None and table_schema.startswith("new__"):
        return table_schema[len("new__") :]
    return table_schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    """Django's SQLite schema editor for tables named ``'"schema"."table"'``."""

    def execute(self, sql: Any, params: Any = ()) -> None:
        super().execute(sqlite_schema_sql(str(sql)), params)

    def create_model(self, model: type[Model]) -> None:
        """Refuse clearly when the model's schema is not attached (ATTACH cannot run here)."""
        table_schema = _schema_of(model._meta.db_table)
        if table_schema is not None:
            with self.connection.cursor() as cursor:
                cursor.execute("PRAGMA database_list")
                attached = {row[1] for row in cursor.fetchall()}
            if table_schema not in attached:
                raise NotSupportedError(
                    f"Schema {table_schema!r} of {model._meta.label} is not attached to "
                    f"database {self.connection.alias!r}: schemas are attached when the "
                    f"connection opens; name it in OPTIONS['schemas'] or reconnect."
                )
        super().create_model(model)

    def alter_db_table(self, model: type[Model], old_db_table: str, new_db_table: str) -> None:
        old_schema, new_schema = _schema_of(old_db_table), _schema_of(new_db_table)
        if old_schema != new_schema:
            raise NotSupportedError(
                f"SQLite cannot move table {split_table(old_db_table).name!r} from schema "
                f"{old_schema!r} to {new_schema!r}: they are separate database files."
            )
        super().alter_db_table(model, old_db_table, new_db_table)

    def _delete_index_sql(self, model: type[Model], name: str, *args: Any, **kwargs: Any) -> Any:
        statement: Statement = super()._delete_index_sql(model, name, *args, **kwargs)  # type: ignore[misc]
        parts: dict[str, Any] = statement.parts
        table_schema = split_table(model._meta.db_table).schema
        parts["name"] = self.quote_name(qualify(table_schema, name))
        return statement
