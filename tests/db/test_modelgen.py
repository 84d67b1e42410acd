"""``manage.py strangler_models``: generated models load, read well and show no drift."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.test.utils import isolate_apps
from sqlalchemy.pool import NullPool

from strangler.db.drift import find_drift
from strangler.db.modelgen import generate_models
from tests.db.conftest import LEGACY_SCHEMAS, Legacy, run_sql, sqlalchemy_url
from tests.db.legacy.models import Base

RUFF = Path(sys.executable).with_name("ruff")


def load(source: str) -> list[type[models.Model]]:
    """Execute generated code in an isolated app registry; return its models."""
    namespace: dict[str, object] = {"__name__": "tests.db.generated"}
    exec(compile(source, "<strangler_models>", "exec"), namespace)
    return [
        value
        for value in namespace.values()
        if isinstance(value, type) and issubclass(value, models.Model) and value is not models.Model
    ]


def assert_formatted(source: str) -> None:
    result = subprocess.run(
        [str(RUFF), "format", "--diff", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@isolate_apps("tests.db.adopt_app")
def test_round_trip_of_the_legacy_models_passes_drift(legacy: Legacy) -> None:
    legacy.upgrade("head")
    out = io.StringIO()
    call_command(
        "strangler_models",
        "tests.db.legacy.models:Base",
        "--schema",
        "stga_labs",
        "--app-label",
        "strangler_adopt",
        stdout=out,
    )
    source = out.getvalue()
    assert 'db_table = schema_table("stga_core", "person")' in source  # referenced, so kept
    assert 'owner = models.ForeignKey("Person", models.DO_NOTHING)' in source
    assert "created = models.DateTimeField(db_default=Now())" in source
    assert_formatted(source)
    generated = load(source)
    assert sorted(m.__name__ for m in generated) == [
        "Instrument",
        "Person",
        "Sample",
        "SampleTags",
        "Tag",
    ]
    for model in generated:
        assert model.check() == [], model
    assert find_drift(connection, generated, Base.metadata, LEGACY_SCHEMAS) == []
    sample = next(m for m in generated if m.__name__ == "Sample")
    assert list(sample.objects.select_related("owner").all()) == []


TYPES_SCHEMA = "stgm_types"


@pytest.fixture
def types_metadata(transactional_db: None) -> Iterator[sa.MetaData]:
    """Tables with awkward columns, created in the test database by SQLAlchemy."""
    metadata = sa.MetaData(schema=TYPES_SCHEMA)
    sa.Table(
        "site",
        metadata,
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("parent_code", sa.ForeignKey("site.code")),
        sa.Column("opened", sa.Date, server_default=sa.text("CURRENT_DATE")),
    )
    sa.Table(
        "reading",
        metadata,
        sa.Column("site_code", sa.ForeignKey("site.code"), primary_key=True),
        sa.Column("taken", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("class", sa.String(20), nullable=False, server_default="plain"),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("valid", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("payload", sa.JSON),
        sa.Column("token", sa.Uuid, unique=True),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("duration", sa.Interval),
        sa.Column("at", sa.Time),
        sa.Column("note", sa.Text),
        sa.Column("checked_by", sa.ForeignKey("site.code"), nullable=True),
        sa.Index("ix_reading_value_count", "value", "count"),
    )
    engine = sa.create_engine(sqlalchemy_url(), poolclass=NullPool)
    run_sql(f"DROP SCHEMA IF EXISTS {TYPES_SCHEMA} CASCADE", f"CREATE SCHEMA {TYPES_SCHEMA}")
    try:
        metadata.create_all(engine)
        yield metadata
    finally:
        engine.dispose()
        run_sql(f"DROP SCHEMA IF EXISTS {TYPES_SCHEMA} CASCADE")


@isolate_apps("tests.db.adopt_app")
def test_types_keys_and_defaults_round_trip(types_metadata: sa.MetaData) -> None:
    source = generate_models(types_metadata, [TYPES_SCHEMA], app_label="strangler_adopt")
    ast.parse(source)
    assert_formatted(source)
    lines = {line.strip() for line in source.splitlines()}
    assert 'pk = models.CompositePrimaryKey("site_code", "taken")' in lines
    assert (
        'class_field = models.CharField(max_length=20, db_column="class", db_default="plain")'
        in lines
    )
    assert "valid = models.BooleanField(db_default=True)" in lines
    assert "count = models.IntegerField(db_default=0)" in lines
    assert "# server default CURRENT_DATE is left to the database" in lines
    assert "parent_code = models.ForeignKey(" in lines
    assert 'related_name="site_parent_code_set",' in lines
    assert 'models.Index(fields=["value", "count"], name="ix_reading_value_count"),' in lines
    generated = load(source)
    for model in generated:
        assert model.check() == [], model
    # The one column Django cannot match, and the generated code says so.
    assert "# json in the database; Django's JSONField is jsonb" in lines
    assert find_drift(connection, generated, types_metadata, [TYPES_SCHEMA]) == [
        "stgm_types.reading.payload: jsonb NULL in the Django model, json NULL in the database"
    ]


def test_command_needs_metadata() -> None:
    with pytest.raises(CommandError, match="Name the metadata"):
        call_command("strangler_models", stdout=io.StringIO())


def test_command_unknown_schema() -> None:
    with pytest.raises(CommandError, match="no table in schema nope; the metadata has schemas"):
        call_command(
            "strangler_models",
            "tests.db.legacy.models:Base",
            "--schema",
            "nope",
            stdout=io.StringIO(),
        )


def test_command_bad_metadata_path() -> None:
    with pytest.raises(CommandError, match="cannot import 'no_such_module'"):
        call_command("strangler_models", "no_such_module:Base", stdout=io.StringIO())
