"""Django's SQLite ``DatabaseWrapper`` with each schema attached as a database file.

SQLite's own word for a schema is an attached database: ``"labs"."sample"``
is table ``sample`` of the database attached as ``labs``. Every schema that an
installed model's ``db_table`` names is attached when a connection opens, from
``OPTIONS["schemas"]`` (``{"labs": "/srv/labs.sqlite3"}``) or else from a file
beside the main one (``db.sqlite3`` -> ``db.labs.sqlite3``); an in-memory
database gets in-memory schemas. So the models of a PostgreSQL deployment run
unchanged on the embedded default.

Foreign keys SQLite cannot enforce. SQLAlchemy lets an app declare a foreign
key to a column that is neither the parent's primary key nor unique; SQLite
stores it, but every check of it fails with ``foreign key mismatch``: Django's
``PRAGMA foreign_key_check`` after each schema change (so not even
``django_migrations`` can be created), and any write to either table while
foreign keys are enforced. The legacy app never saw it: SQLAlchemy leaves
SQLite's enforcement off. When a connection opens on such a database, this
backend leaves those tables out of ``foreign_key_check`` and keeps enforcement
off, as the legacy app runs, without touching the legacy tables; system check
``strangler.W042`` names each such key. Once the key can be enforced (a unique
index on its target), Django's enforcement is back on the next connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.apps import apps
from django.db.backends.sqlite3 import base

from ...catalog import UnenforceableKey
from ...schemas import split_table
from ...sqlite_catalog import read_sqlite_catalog
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

    # The foreign keys of this connection's database SQLite cannot enforce.
    unenforceable_foreign_keys: list[UnenforceableKey] = []

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        for schema, location in self.schema_locations().items():
            connection.execute(f"ATTACH DATABASE ? AS {self.ops.quote_name(schema)}", [location])
        return connection

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self.unenforceable_foreign_keys = _unenforceable(self)
        if self.unenforceable_foreign_keys:
            self.connection.execute("PRAGMA foreign_keys = OFF")

    def enable_constraint_checking(self) -> None:
        """Django's, unless the database has keys SQLite cannot enforce (then it stays off)."""
        if not self.unenforceable_foreign_keys:
            super().enable_constraint_checking()

    def check_constraints(self, table_names: Any = None) -> None:
        """Django's ``foreign_key_check``, without the tables whose keys SQLite cannot check."""
        skip = {_table_name(key.schema, key.table) for key in self.unenforceable_foreign_keys}
        if not skip:
            super().check_constraints(table_names)
            return
        if table_names is None:
            with self.cursor() as cursor:
                table_names = self.introspection.table_names(cursor)
        # Attached schemas' tables were never in Django's check (it reads main).
        wanted = [name for name in table_names if name not in skip and '"' not in name]
        super().check_constraints(wanted)


def _table_name(schema: str, table: str) -> str:
    """The name Django's introspection gives a table: bare in ``main``, else qualified."""
    return table if schema == "main" else f'"{schema}"."{table}"'


# (database file, schema_version) of each schema -> the keys found, so that a
# connection opened per request does not read the catalog each time.
_UNENFORCEABLE_CACHE: dict[tuple[tuple[str, str, int], ...], list[UnenforceableKey]] = {}


def _unenforceable(wrapper: DatabaseWrapper) -> list[UnenforceableKey]:
    with wrapper.cursor() as cursor:
        cursor.execute("PRAGMA database_list")
        files = [(row[1], row[2]) for row in cursor.fetchall() if row[1] != "temp"]
        versions = []
        for schema, path in files:
            cursor.execute(f"PRAGMA {wrapper.ops.quote_name(schema)}.schema_version")
            versions.append((schema, path, int(cursor.fetchone()[0])))
    cache_key = tuple(versions)
    in_memory = any(not path for _, path, _ in versions)  # a new database every time
    if not in_memory and cache_key in _UNENFORCEABLE_CACHE:
        return _UNENFORCEABLE_CACHE[cache_key]
    found = read_sqlite_catalog(wrapper).unenforceable
    if not in_memory:
        if len(_UNENFORCEABLE_CACHE) > 64:  # schema changes make new keys; keep it small
            _UNENFORCEABLE_CACHE.clear()
        _UNENFORCEABLE_CACHE[cache_key] = found
    return found
