"""``strangler.db.backends.sqlite3``: the schema models on SQLite, a file per schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strangler.db.backends.sqlite3.base import schema_locations
from strangler.db.backends.sqlite3.schema import sqlite_schema_sql
from tests.db.conftest import run_python, subprocess_env


def test_the_schema_models_run_unchanged_on_sqlite(tmp_path: Path) -> None:
    env = subprocess_env(
        STRANGLER_SQLITE_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="tests.db.sqlite_settings"
    )
    result = run_python(["-m", "tests.db.sqlite_embedded"], env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "db.sqlite3",
        "db.stg_core.sqlite3",
        "db.stg_lab.sqlite3",
    ]
    assert seen["attached"] == ["main", "stg_core", "stg_lab", "temp"]
    assert seen["tables"] == [
        '"stg_core"."person"',
        '"stg_lab"."sample"',
        '"stg_lab"."sample_tags"',
        '"stg_lab"."tag"',
    ]
    assert not seen["main_has_sample"]
    assert "stg_sample_name_idx" in seen["sample_indexes"]
    # A foreign key cannot leave its database file; within one it is declared.
    assert seen["sample_relations"] == {}
    assert seen["through_relations"] == {
        "sample_id": ["id", '"stg_lab"."sample"'],
        "tag_id": ["id", '"stg_lab"."tag"'],
    }
    assert seen["query"] == ["S-1"]
    assert seen["inspectdb_classes"] == [
        "class StgLabSample(models.Model):",
        "class StgLabSampleTags(models.Model):",
        "class StgLabTag(models.Model):",
    ]
    # Rebuilt tables keep their rows; the dropped index and its _like twin are gone.
    assert seen["person_indexes_after"] == []
    assert seen["person_rows_after"] == [["Ada"]]
    assert seen["sample_rows_after"] == [["S-1", 7]]
    assert seen["after_flush"] == 0
    assert seen["safemigrate"] == "No migrations to apply."
    assert seen["drift"] == "No drift."
    assert seen["test_people"] == 1
    assert [name for name, _ in seen["test_attached"]] == ["main", "stg_core", "stg_lab", "temp"]


@pytest.mark.parametrize(
    ("django_sql", "sqlite_sql"),
    [
        (
            'CREATE INDEX "i" ON "labs"."sample" ("name")',
            'CREATE INDEX "labs"."i" ON "sample" ("name")',
        ),
        (
            'CREATE UNIQUE INDEX "u" ON "labs"."sample" ("a", "b")',
            'CREATE UNIQUE INDEX "labs"."u" ON "sample" ("a", "b")',
        ),
        (
            'CREATE TABLE "new__labs"."sample" ("id" integer)',
            'CREATE TABLE "labs"."new__sample" ("id" integer)',
        ),
        (
            'ALTER TABLE "new__labs"."sample" RENAME TO "labs"."sample"',
            'ALTER TABLE "labs"."new__sample" RENAME TO "sample"',
        ),
        (
            'CREATE TABLE "labs"."s" ("o_id" bigint NOT NULL REFERENCES "labs"."o" ("id") '
            'DEFERRABLE INITIALLY DEFERRED, "p_id" bigint NULL REFERENCES "core"."p" ("id") '
            "DEFERRABLE INITIALLY DEFERRED)",
            'CREATE TABLE "labs"."s" ("o_id" bigint NOT NULL REFERENCES "o" ("id") '
            'DEFERRABLE INITIALLY DEFERRED, "p_id" bigint NULL)',
        ),
        ('CREATE INDEX "i" ON "sample" ("name")', 'CREATE INDEX "i" ON "sample" ("name")'),
        ('SELECT "new__x" FROM "t"', 'SELECT "new__x" FROM "t"'),
    ],
)
def test_sqlite_spelling_of_schema_ddl(django_sql: str, sqlite_sql: str) -> None:
    assert sqlite_schema_sql(django_sql) == sqlite_sql


def test_schema_locations() -> None:
    schemas = {"labs", "core"}
    assert schema_locations("/srv/app/db.sqlite3", {"core": "/data/core.db"}, schemas) == {
        "core": "/data/core.db",
        "labs": "/srv/app/db.labs.sqlite3",
    }
    assert schema_locations(":memory:", {}, {"labs"}) == {"labs": ":memory:"}
    assert schema_locations("file:memorydb_default?mode=memory&cache=shared", {}, {"labs"}) == {
        "labs": "file:memorydb_default_labs?mode=memory&cache=shared"
    }
