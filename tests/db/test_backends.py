"""``strangler.db.backends.postgresql``: DDL on tables in schemas, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from django.db import connection, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.test.utils import isolate_apps

from strangler.db.schemas import schema_table
from tests.db.schema_app.models import Person, Sample

pytestmark = pytest.mark.django_db


def index_names(schema: str, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            [schema, table],
        )
        return {row[0] for row in cursor.fetchall()}


def constraint_names(schema: str, table: str, kind: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = %s "
            "AND conrelid = to_regclass(quote_ident(%s) || '.' || quote_ident(%s))",
            [kind, schema, table],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def editor() -> Iterator[BaseDatabaseSchemaEditor]:
    with connection.schema_editor(atomic=False) as schema_editor:
        yield schema_editor


def test_indexes_are_created_and_removed_in_the_schema(editor: BaseDatabaseSchemaEditor) -> None:
    index = models.Index(fields=["owner", "name"], name="stg_sample_owner_name")
    editor.add_index(Sample, index)
    assert "stg_sample_owner_name" in index_names("stg_lab", "sample")
    editor.remove_index(Sample, index)
    assert "stg_sample_owner_name" not in index_names("stg_lab", "sample")


def test_rename_index_in_the_schema(editor: BaseDatabaseSchemaEditor) -> None:
    old = models.Index(fields=["name"], name="stg_sample_name_idx")
    new = models.Index(fields=["name"], name="stg_sample_name_renamed")
    editor.rename_index(Sample, old, new)
    assert {"stg_sample_name_renamed"} <= index_names("stg_lab", "sample")
    assert "stg_sample_name_idx" not in index_names("stg_lab", "sample")


def test_unique_constraints_are_created_and_removed(editor: BaseDatabaseSchemaEditor) -> None:
    constraint = models.UniqueConstraint(fields=["owner", "name"], name="stg_sample_owner_name_uq")
    editor.add_constraint(Sample, constraint)
    assert "stg_sample_owner_name_uq" in constraint_names("stg_lab", "sample", "u")
    editor.remove_constraint(Sample, constraint)
    assert "stg_sample_owner_name_uq" not in constraint_names("stg_lab", "sample", "u")


def test_alter_field_drops_the_index_and_its_like_index(editor: BaseDatabaseSchemaEditor) -> None:
    before = index_names("stg_core", "person")
    assert any(name.endswith("_like") for name in before)
    old = Person._meta.get_field("name")
    new = models.CharField(max_length=100)
    new.set_attributes_from_name("name")
    new.model = Person
    editor.alter_field(Person, cast(models.Field, old), new)
    assert index_names("stg_core", "person") == {"person_pkey"}


def test_remove_foreign_key_across_schemas(editor: BaseDatabaseSchemaEditor) -> None:
    assert constraint_names("stg_lab", "sample", "f")
    old = Sample._meta.get_field("owner")
    new = models.BigIntegerField(db_column="owner_id")
    new.set_attributes_from_name("owner_id")
    new.model = Sample
    editor.alter_field(Sample, cast(models.Field, old), new)
    assert not constraint_names("stg_lab", "sample", "f")


def sequence_type(schema: str, name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type::text FROM pg_sequences WHERE schemaname = %s AND sequencename = %s",
            [schema, name],
        )
        row = cursor.fetchone()
        assert row is not None, f"no sequence {schema}.{name}"
        return str(row[0])


def column_type(schema: str, table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND column_name = %s",
            [schema, table, column],
        )
        return str(cursor.fetchone()[0])


@isolate_apps("tests.db.schema_app")
def test_alter_primary_key_to_bigint_takes_the_serial_sequence_along(
    editor: BaseDatabaseSchemaEditor,
) -> None:
    # The table as Alembic makes it: a serial column, i.e. an integer sequence.
    editor.execute("CREATE TABLE stg_lab.counter (id serial PRIMARY KEY, n integer)")

    class Counter(models.Model):
        id = models.AutoField(primary_key=True)
        n = models.IntegerField()

        class Meta:
            app_label = "strangler_schemas"
            db_table = schema_table("stg_lab", "counter")

    sequences = connection.introspection.get_sequences(connection.cursor(), Counter._meta.db_table)
    assert sequences == [
        {"name": '"stg_lab"."counter_id_seq"', "table": '"stg_lab"."counter"', "column": "id"}
    ]
    new = models.BigAutoField(primary_key=True)
    new.set_attributes_from_name("id")
    new.model = Counter
    editor.alter_field(Counter, cast(models.Field, Counter._meta.get_field("id")), new)
    assert column_type("stg_lab", "counter", "id") == "bigint"
    assert sequence_type("stg_lab", "counter_id_seq") == "bigint"


@isolate_apps("tests.db.schema_app")
def test_alter_identity_primary_key_to_bigint(editor: BaseDatabaseSchemaEditor) -> None:
    class Gauge(models.Model):
        id = models.AutoField(primary_key=True)

        class Meta:
            app_label = "strangler_schemas"
            db_table = schema_table("stg_lab", "gauge")

    editor.create_model(Gauge)
    new = models.BigAutoField(primary_key=True)
    new.set_attributes_from_name("id")
    new.model = Gauge
    editor.alter_field(Gauge, cast(models.Field, Gauge._meta.get_field("id")), new)
    assert column_type("stg_lab", "gauge", "id") == "bigint"
    assert sequence_type("stg_lab", "gauge_id_seq") == "bigint"


@isolate_apps("tests.db.schema_app")
def test_create_model_creates_its_schema_first(editor: BaseDatabaseSchemaEditor) -> None:
    class Fresh(models.Model):
        tags = models.ManyToManyField("self")

        class Meta:
            app_label = "strangler_schemas"
            db_table = schema_table("stg_fresh", "fresh")

    editor.create_model(Fresh)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'stg_fresh'")
        assert {row[0] for row in cursor.fetchall()} == {"fresh", "fresh_tags"}


@isolate_apps("tests.db.schema_app")
def test_alter_db_table_moves_between_schemas(editor: BaseDatabaseSchemaEditor) -> None:
    class Moving(models.Model):
        class Meta:
            app_label = "strangler_schemas"
            db_table = schema_table("stg_lab", "moving")

    editor.create_model(Moving)
    editor.alter_db_table(Moving, '"stg_lab"."moving"', '"stg_core"."moved"')
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('stg_core.moved'), to_regclass('stg_lab.moving')")
        assert cursor.fetchone() == ("stg_core.moved", None)
    assert sequence_type("stg_core", "moving_id_seq") == "bigint"
    editor.alter_db_table(Moving, '"stg_core"."moved"', '"stg_core"."moved_again"')
    editor.alter_db_table(Moving, '"stg_core"."moved_again"', "moved_to_public")
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.moved_to_public')::text")
        assert cursor.fetchone() == ("moved_to_public",)
