"""Django's SQLite ``DatabaseWrapper`` with each schema attached as a database file.

SQLite's own word for a schema is an attached database: ``"labs"."sample"``
is table ``sample`` of the database attached as ``labs``. Every schema that an
installed model's ``db_table`` names is attached when a connection opens, from
``OPTIONS["schemas"]`` (``{"labs": "/srv/labs.sqlite3"}``) or else from a file
beside the main one (``db.sqlite3`` -> ``db.labs.sqlite3``); an in-memory
database gets in-memory schemas. So the models of a PostgreSQL deployment run
unchanged on the embedded default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.apps import apps
from django.db.backends.sqlite3 import base

from ...schemas import split_table
from .introspection import DatabaseIntrospection
from .operations import DatabaseOperations
from .schema import DatabaseSchemaEditor

__all__ = ["DatabaseWrapper", "schema_locations"]


def _model_schemas() -> set[str]:
    if not apps.ready:
        return set()
    return {
        schema
        for model in apps.get_models(include_auto_created=True)
        if (schema := split_table(model._meta.db_table).schema) is not None
    }


def schema_locations(name: str, configured: dict[str, str], schemas: set[str]) -> dict[str, str]:
    """Where each schema's database lives, given the main database's ``NAME``."""
    locations = {schema: str(path) for schema, path in configured.items()}
    for schema in sorted(schemas - set(locations)):
        if name == ":memory:" or name == "":
            locations[schema] = ":memory:"
        elif name.startswith("file:"):
            # A named in-memory database (Django's test databases) or a URI.
            path, _, query = name[5:].partition("?")
            options = dict(parse_qsl(query))
            if options.get("mode") == "memory":
                locations[schema] = f"file:{path}_{schema}?{urlencode(options)}"
            else:
                main = Path(path)
                locations[schema] = f"file:{main.with_name(f'{main.stem}.{schema}{main.suffix}')}"
        else:
            main = Path(name)
            suffix = main.suffix or ".sqlite3"
            locations[schema] = str(main.with_name(f"{main.stem}.{schema}{suffix}"))
    return locations


class DatabaseWrapper(base.DatabaseWrapper):
    """Stock SQLite, except that schemas are attached databases."""

    SchemaEditorClass = DatabaseSchemaEditor
    introspection_class = DatabaseIntrospection
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params = dict(super().get_connection_params())
        params.pop("schemas", None)  # ours, not sqlite3.connect()'s
        return params

    def schema_locations(self) -> dict[str, str]:
        """``{schema: database file or URI}`` for the schemas this connection attaches."""
        configured = dict(self.settings_dict.get("OPTIONS", {}).get("schemas") or {})
        return schema_locations(str(self.settings_dict["NAME"]), configured, _model_schemas())

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        for schema, location in self.schema_locations().items():
            connection.execute(f"ATTACH DATABASE ? AS {self.ops.quote_name(schema)}", [location])
        return connection
