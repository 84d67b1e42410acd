"""``manage.py inspectdb --schema labs``: Django's inspectdb for the tables of a schema.

Django's own command, with one option added: ``--schema`` names the tables of
that schema as ``'"labs"."sample"'``, which the strangler backends introspect
by (schema, table), foreign keys into other schemas included. Without
``--schema`` it is Django's inspectdb unchanged.
"""

from __future__ import annotations

from typing import Any

from django.core.management import CommandError, CommandParser
from django.core.management.commands import inspectdb
from django.db import connections

from ...db.schemas import qualify, split_table


class Command(inspectdb.Command):
    help = (
        "Introspects the database tables in the given database and outputs a Django model "
        "module. With --schema, the tables of that schema (PostgreSQL schema, or SQLite "
        'attached database), written db_table = \'"schema"."table"\', with foreign keys '
        "into other schemas kept (needs a strangler.db.backends engine)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="SCHEMA",
            help="Inspect every table of this schema (repeatable), instead of naming tables.",
        )

    def handle(self, **options: Any) -> None:
        schemas: list[str] | None = options.get("schemas")
        if schemas:
            if options["table"]:
                raise CommandError("Name tables or give --schema, not both.")
            options["table"] = self._schema_tables(options, schemas)
        super().handle(**options)

    def _schema_tables(self, options: dict[str, Any], schemas: list[str]) -> list[str]:
        connection = connections[options["database"]]
        # Django's inspectdb types: "t" table, "p" partition, "v" view.
        wanted = {"t"} | ({"p"} if options["include_partitions"] else set())
        wanted |= {"v"} if options["include_views"] else set()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Also the schemas on search_path, whose tables are listed bare.
                cursor.execute(
                    "SELECT n.nspname, c.relname, CASE WHEN c.relispartition THEN 'p' "
                    "WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END "
                    "FROM pg_catalog.pg_class c "
                    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v') AND n.nspname = ANY(%s) "
                    "ORDER BY 1, 2",
                    [schemas],
                )
                found = [qualify(schema, name) for schema, name, kind in cursor if kind in wanted]
            else:
                found = sorted(
                    info.name
                    for info in connection.introspection.get_table_list(cursor)
                    if split_table(info.name).schema in schemas and info.type in wanted
                )
        present = {split_table(name).schema for name in found}
        missing = [schema for schema in schemas if schema not in present]
        if missing:
            raise CommandError(f"No tables in schema {', '.join(map(repr, missing))}.")
        return found
