"""``strangler.db.drift`` and ``manage.py strangler_drift`` on tables Alembic built."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.db.drift import find_drift
from tests.db.conftest import LEGACY_SCHEMAS, DjangoProject, Legacy, run_sql
from tests.db.legacy.models import Base

ADOPT_MODELS = list(apps.get_app_config("strangler_adopt").get_models())
METADATA = "tests.db.legacy.models:Base"


def drift() -> list[str]:
    return find_drift(connection, ADOPT_MODELS, Base.metadata, LEGACY_SCHEMAS)


def test_no_drift_when_all_three_agree(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    assert drift() == []


def test_a_column_the_database_lacks(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    assert drift() == [
        "stga_labs.sample.volume_ml: numeric(8,2) NULL in the Django model, "
        "missing in the database",
        "stga_labs.sample.volume_ml: numeric(8,2) NULL in the SQLAlchemy model, "
        "missing in the database",
    ]


def test_type_nullability_and_keys(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    legacy.sql(
        "ALTER TABLE stga_labs.sample ALTER COLUMN name TYPE varchar(50)",
        "ALTER TABLE stga_labs.sample ALTER COLUMN name DROP NOT NULL",
        "ALTER TABLE stga_labs.tag DROP CONSTRAINT tag_label_key",
        "ALTER TABLE stga_labs.sample DROP CONSTRAINT sample_owner_id_fkey",
    )
    lines = drift()
    for side in ("Django", "SQLAlchemy"):
        assert (
            f"stga_labs.sample.name: varchar(100) NOT NULL in the {side} model, "
            f"varchar(50) NULL in the database"
        ) in lines
        assert (
            f"stga_labs.tag (label): unique in the {side} model, not unique in the database"
        ) in lines
        assert (
            f"stga_labs.sample.owner_id: a foreign key to stga_core.person(id) in the {side} "
            f"model, no foreign key in the database"
        ) in lines
    assert len(lines) == 6


def test_a_column_only_the_database_has(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    legacy.sql("ALTER TABLE stga_labs.sample ADD COLUMN legacy_flag boolean")
    assert drift() == [
        "stga_labs.sample.legacy_flag: boolean NULL in the database, missing in the Django model",
        "stga_labs.sample.legacy_flag: boolean NULL in the database, "
        "missing in the SQLAlchemy model",
    ]


def test_a_missing_table(legacy: Legacy) -> None:
    assert "stga_labs.instrument: in the SQLAlchemy model, missing in the database" in drift()


@pytest.mark.django_db
def test_djangos_own_tables_show_no_drift() -> None:
    models = [
        model
        for label in ("auth", "contenttypes", "sessions", "admin")
        for model in apps.get_app_config(label).get_models()
    ]
    assert find_drift(connection, models) == []
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE auth_user ALTER COLUMN first_name TYPE varchar(10)")
    assert find_drift(connection, models) == [
        "public.auth_user.first_name: varchar(150) NOT NULL in the Django model, "
        "varchar(10) NOT NULL in the database"
    ]


def test_command_exits_non_zero_on_drift(legacy: Legacy, settings: SettingsWrapper) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SQLALCHEMY_METADATA": METADATA}
    legacy.upgrade("r1")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "strangler_drift",
            "--app",
            "strangler_adopt",
            "--schema",
            "stga_labs",
            stdout=out,
            stderr=io.StringIO(),
        )
    assert exit_info.value.code == 1
    assert "stga_labs.sample.volume_ml" in out.getvalue()


def test_command_says_so_when_clean(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    out = io.StringIO()
    call_command(
        "strangler_drift",
        "--metadata",
        METADATA,
        "--app",
        "strangler_adopt",
        "--schema",
        "stga_core",
        "--schema",
        "stga_labs",
        stdout=out,
    )
    assert out.getvalue().strip() == "No drift."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metadata", "tests.db.legacy.models"], "not an import path like"),
        (["--metadata", "tests.db.nowhere:Base"], "cannot import 'tests.db.nowhere'"),
        (["--metadata", "tests.db.legacy:VERSION_TABLE"], "not a SQLAlchemy MetaData"),
        (["--app", "nope"], "No installed app with label 'nope'"),
    ],
)
@pytest.mark.django_db
def test_command_bad_input(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("strangler_drift", *args, stdout=io.StringIO())


@pytest.fixture
def new_project(tmp_path: Path, transactional_db: None) -> Iterator[DjangoProject]:
    """A new startproject (BigAutoField) on a database of its own, migrated."""
    name = f"{connection.settings_dict['NAME']}_new"
    run_sql(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    keep = ("ENGINE", "USER", "PASSWORD", "HOST", "PORT")
    database = {key: connection.settings_dict[key] for key in keep} | {"NAME": name}
    project = DjangoProject(tmp_path / "project", database, {})
    project.write_models("from django.db import models\n")
    project.extra_env["STRANGLER_PROJECT_AUTO_FIELD"] = "django.db.models.BigAutoField"
    migrated = project.manage("migrate")
    assert migrated.returncode == 0, migrated.stderr
    yield project
    run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_by_default_drift_is_about_the_users_models_not_djangos(new_project) -> None:
    # Django's own tables do differ from their models on a new project ...
    auth = new_project.manage("strangler_drift", "--app", "auth")
    assert auth.returncode == 1
    assert (
        "public.auth_user_groups.id: integer NOT NULL auto-increment in the Django model, "
        "bigint NOT NULL auto-increment in the database"
    ) in auth.stdout
    # ... which is Django's business: the default compares the project's apps only.
    default = new_project.manage("strangler_drift")
    assert default.returncode == 0, default.stdout
    assert default.stdout.strip() == "No drift."
