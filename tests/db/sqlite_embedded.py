"""Run by ``test_sqlite.py`` in a subprocess (own settings): the schema models on SQLite.

Prints one JSON object of what it saw; every step raises on failure.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.db.sqlite_settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, models

    from tests.db.schema_app.models import Person, Sample, Tag

    seen: dict[str, Any] = {}
    call_command("migrate", verbosity=0)
    # Just migrated: safemigrate and drift read the attached schemas and agree.
    plan = io.StringIO()
    call_command("safemigrate", "--plan", stdout=plan)
    seen["safemigrate"] = plan.getvalue().strip()
    drift = io.StringIO()
    call_command("strangler_drift", "--app", "strangler_schemas", stdout=drift)
    seen["drift"] = drift.getvalue().strip()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA database_list")
        seen["attached"] = sorted(row[1] for row in cursor.fetchall())
        seen["tables"] = sorted(
            t for t in connection.introspection.table_names(cursor) if "stg_" in t
        )
        seen["main_has_sample"] = bool(
            cursor.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'sample'").fetchone()
        )
        constraints = connection.introspection.get_constraints(cursor, Sample._meta.db_table)
        seen["sample_indexes"] = sorted(n for n, c in constraints.items() if c["index"])
        seen["sample_relations"] = connection.introspection.get_relations(
            cursor, Sample._meta.db_table
        )
        seen["through_relations"] = connection.introspection.get_relations(
            cursor, Sample.tags.through._meta.db_table
        )

    out = io.StringIO()
    call_command("inspectdb", "--schema", "stg_lab", stdout=out)
    seen["inspectdb_classes"] = sorted(
        line for line in out.getvalue().splitlines() if line.startswith("class ")
    )

    ada = Person.objects.create(name="Ada")
    blood = Tag.objects.create(label="blood")
    sample = Sample.objects.create(name="S-1", owner=ada)
    sample.tags.add(blood)
    seen["query"] = list(
        Sample.objects.filter(owner__name="Ada", tags__label="blood").values_list("name", flat=True)
    )

    # Schema changes that make SQLite rebuild the table, and index removal.
    with connection.schema_editor() as editor:
        index = models.Index(fields=["owner", "name"], name="stg_sample_owner_name")
        editor.add_index(Sample, index)
        editor.remove_index(Sample, index)
        old = Person._meta.get_field("name")
        new = models.CharField(max_length=200)
        new.set_attributes_from_name("name")
        new.model = Person
        editor.alter_field(Person, old, new)  # type: ignore[arg-type]
        added = models.IntegerField(default=7)
        added.set_attributes_from_name("rank")
        added.model = Sample
        editor.add_field(Sample, added)
    with connection.cursor() as cursor:
        seen["person_indexes_after"] = sorted(
            n
            for n, c in connection.introspection.get_constraints(
                cursor, Person._meta.db_table
            ).items()
            if c["index"] and not c["primary_key"]
        )
        cursor.execute('SELECT name, rank FROM "stg_lab"."sample"')
        seen["sample_rows_after"] = cursor.fetchall()
        cursor.execute('SELECT name FROM "stg_core"."person"')
        seen["person_rows_after"] = cursor.fetchall()

    call_command("flush", interactive=False, verbosity=0)
    seen["after_flush"] = Person.objects.count() + Sample.objects.count()

    # Django's test database: in memory, the schemas too.
    test_name = connection.creation.create_test_db(verbosity=0)
    seen["test_database"] = test_name
    Person.objects.create(name="Test")
    seen["test_people"] = Person.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA database_list")
        seen["test_attached"] = sorted((row[1], row[2] or "") for row in cursor.fetchall())
    connection.creation.destroy_test_db(test_name, verbosity=0)
    json.dump(seen, sys.stdout)


if __name__ == "__main__":
    main()
