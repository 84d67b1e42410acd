"""``manage.py strangler_drift``: tables where Django, SQLAlchemy and the database disagree."""

from __future__ import annotations

import sys
from typing import Any

from django.apps import apps
from django.core.management import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from ...conf import get_conf
from ...db.drift import find_drift
from ...db.ownership import MetadataError, load_metadata


class Command(BaseCommand):
    help = (
        "Compare every table that a Django model or the SQLAlchemy metadata "
        "(STRANGLER['SQLALCHEMY_METADATA'] or --metadata) declares with the live database: "
        "columns with type, nullability and declared default, primary, foreign and unique "
        "keys. Prints one line per disagreement and exits with status 1 when there is any, "
        "so CI can fail on drift."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            choices=tuple(connections),
            help='The database to compare with (default: "default").',
        )
        parser.add_argument(
            "--metadata",
            metavar="MODULE:NAME",
            help="SQLAlchemy declarative base or MetaData to compare "
            "(default: STRANGLER['SQLALCHEMY_METADATA']; none: Django models only).",
        )
        parser.add_argument(
            "--app",
            action="append",
            dest="apps",
            metavar="APP_LABEL",
            help="Only this app's Django models (repeatable; default: every app but Django's "
            "own, django.contrib.*, and strangler's: name those here to compare them too).",
        )
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="SCHEMA",
            help="Only tables in this schema (repeatable; default: every schema).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor not in ("postgresql", "sqlite"):
            raise CommandError(
                f"strangler_drift reads the catalog of PostgreSQL or SQLite; database "
                f"{options['database']!r} is {connection.vendor}."
            )
        path = options["metadata"] or get_conf()["SQLALCHEMY_METADATA"]
        metadata = None
        if path is not None:
            try:
                metadata = load_metadata(path)
            except MetadataError as exc:
                raise CommandError(f"Cannot load the SQLAlchemy metadata: {exc}.") from None
        if options["apps"]:
            models = []
            for label in options["apps"]:
                try:
                    models += list(apps.get_app_config(label).get_models())
                except LookupError as exc:
                    raise CommandError(str(exc)) from None
        else:
            models = [model for model in apps.get_models() if _users_app(model._meta.app_config)]
        drift = find_drift(connection, models, metadata, options["schemas"])
        for line in drift:
            self.stdout.write(line)
        if drift:
            self.stderr.write(f"{len(drift)} difference(s) between the models and the database.")
            sys.exit(1)
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS("No drift."))


def _users_app(app_config: Any) -> bool:
    """An app of the project's, not Django's own nor the toolkit's.

    Django's tables are not the adoption's business, and on a new project they
    already differ from their models (auth's many-to-many tables get ``bigint``
    ids from DEFAULT_AUTO_FIELD where the models say ``integer``).
    """
    name = str(app_config.name)
    return not (name.startswith("django.") or name == "strangler")
