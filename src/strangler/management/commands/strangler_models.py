"""``manage.py strangler_models``: Django models from the legacy SQLAlchemy metadata."""

from __future__ import annotations

from typing import Any

from django.core.management import BaseCommand, CommandError, CommandParser

from ...conf import get_conf
from ...db.modelgen import generate_models
from ...db.ownership import MetadataError, load_metadata


class Command(BaseCommand):
    help = (
        "Print Django models for the tables of a SQLAlchemy declarative base or MetaData, "
        "like inspectdb does for a database: schema (db_table = schema_table(...)), column "
        "types, nullability, server defaults, primary, foreign and unique keys, indexes. "
        "Tables that the chosen schemas reference in other schemas are included so the "
        "module loads. The result passes strangler_drift against the tables Alembic built."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "metadata",
            nargs="?",
            metavar="MODULE:NAME",
            help="The declarative base or MetaData, e.g. legacy.models:Base "
            "(default: STRANGLER['SQLALCHEMY_METADATA']).",
        )
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="SCHEMA",
            help="Only tables in this schema, and those they reference (repeatable).",
        )
        parser.add_argument(
            "--managed",
            action="store_true",
            help="Write managed = True (Django will migrate the tables) instead of False.",
        )
        parser.add_argument(
            "--app-label",
            metavar="LABEL",
            help="Write app_label = LABEL in each Meta (for models kept outside an app).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["metadata"] or get_conf()["SQLALCHEMY_METADATA"]
        if path is None:
            raise CommandError(
                "Name the metadata (strangler_models legacy.models:Base) or set "
                "STRANGLER['SQLALCHEMY_METADATA']."
            )
        try:
            metadata = load_metadata(path)
        except MetadataError as exc:
            raise CommandError(f"Cannot load the SQLAlchemy metadata: {exc}.") from None
        try:
            source = generate_models(
                metadata,
                options["schemas"],
                managed=options["managed"],
                app_label=options["app_label"],
            )
        except ValueError as exc:
            raise CommandError(f"Nothing to generate: {exc}.") from None
        self.stdout.write(source, ending="")
