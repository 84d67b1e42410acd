"""Fixtures for the database side: the legacy schema built by real Alembic migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from django.db import DEFAULT_DB_ALIAS, connections
from sqlalchemy.pool import NullPool

from tests.db.legacy import VERSION_TABLE

ALEMBIC_DIR = Path(__file__).resolve().parent / "legacy" / "migrations"
LEGACY_SCHEMAS = ("stga_core", "stga_labs")


def sqlalchemy_url(using: str = DEFAULT_DB_ALIAS) -> sqlalchemy.URL:
    """A Django test database (``default`` unless named), as SQLAlchemy spells it."""
    settings = connections[using].settings_dict
    return sqlalchemy.URL.create(
        "postgresql+psycopg",
        username=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        database=settings["NAME"],
    )


def run_sql(*statements: str, using: str = DEFAULT_DB_ALIAS) -> None:
    with connections[using].cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def catalog_dump(using: str = DEFAULT_DB_ALIAS) -> list[tuple[object, ...]]:
    """Everything the catalog says about the user schemas, and django_migrations.

    Compared before and after a refused safemigrate: equal means not a byte of
    the schema (nor the migration history) changed.
    """
    rows: list[tuple[object, ...]] = []
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, c.relname, c.relkind, a.attnum, a.attname,
                   format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%'
            ORDER BY 1, 2, 4
            """
        )
        rows += cursor.fetchall()
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace <> 'pg_catalog'::regnamespace ORDER BY 1, 2
            """
        )
        rows += cursor.fetchall()
        cursor.execute(
            "SELECT schemaname, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname <> 'pg_catalog' ORDER BY 1, 2"
        )
        rows += cursor.fetchall()
        cursor.execute("SELECT nspname FROM pg_namespace ORDER BY 1")
        rows += cursor.fetchall()
        cursor.execute("SELECT app, name, applied FROM django_migrations ORDER BY 1, 2")
        rows += cursor.fetchall()
    return rows


@dataclass
class Legacy:
    """The legacy database: Alembic upgrades and direct tampering."""

    def upgrade(self, revision: str = "head") -> None:
        config = Config()
        config.set_main_option("script_location", str(ALEMBIC_DIR))
        engine = sqlalchemy.create_engine(sqlalchemy_url(), poolclass=NullPool)
        try:
            with engine.begin() as sa_connection:
                config.attributes["connection"] = sa_connection
                command.upgrade(config, revision)
        finally:
            engine.dispose()

    def sql(self, *statements: str) -> None:
        run_sql(*statements)

    def applied(self, app: str = "strangler_adopt") -> list[str]:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT name FROM django_migrations WHERE app = %s ORDER BY name", [app])
            return [row[0] for row in cursor.fetchall()]


def reset_legacy() -> None:
    """No legacy schemas, no Alembic version table, no adopt_app migrations recorded."""
    run_sql(
        *(f"DROP SCHEMA IF EXISTS {schema} CASCADE" for schema in LEGACY_SCHEMAS),
        f"DROP TABLE IF EXISTS public.{VERSION_TABLE}",
        "DELETE FROM django_migrations WHERE app = 'strangler_adopt'",
    )


@pytest.fixture
def legacy(transactional_db: None) -> Iterator[Legacy]:
    """An empty legacy database, to be built by Alembic in the test; cleaned up after."""
    reset_legacy()
    yield Legacy()
    reset_legacy()


# --- A Flask-SQLAlchemy app with Flask-Migrate (tests/db/flask_app), run as users run it.

# Its database (tests/settings.py): its tables in ``public`` beside Django's.
FLASK_DB = "flask"
FLASK_TABLES = ("post_tags", "post", "user", "tag", "alembic_version")
# The mark of every test that uses the Flask app's database (``flask_pg``, ``project``).
uses_flask_db = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, FLASK_DB])
ROOT = Path(__file__).resolve().parent.parent.parent


def run_python(
    args: list[str],
    env: dict[str, str],
    *,
    cwd: Path = ROOT,
    answers: str | None = None,
    warnings_are_errors: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` as a user runs a command: its own process, output captured, bounded."""
    flags = ["-W", "error"] if warnings_are_errors else []
    return subprocess.run(
        [sys.executable, *flags, *args],
        cwd=cwd,
        env=env,
        input=answers,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def subprocess_env(path: str = "", **extra: str) -> dict[str, str]:
    """The environment of a subprocess: this checkout importable (and ``path``), plus ``extra``."""
    paths = [str(ROOT), str(ROOT / "src"), *(p for p in path.split(os.pathsep) if p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


@dataclass
class FlaskApp:
    """The Flask app on one database, driven through the ``flask`` command line."""

    uri: str

    def flask(self, *args: str, handed_over: bool = True) -> subprocess.CompletedProcess[str]:
        factory = f"tests.db.flask_app:create_app({self.uri!r}, handed_over={handed_over})"
        # Not -W error: Flask-Migrate's own env.py uses APIs Flask-SQLAlchemy deprecates.
        return run_python(
            ["-m", "flask", "--app", factory, *args], subprocess_env(), warnings_are_errors=False
        )

    def upgrade(self) -> None:
        result = self.flask("db", "upgrade")
        assert result.returncode == 0, result.stderr


def drop_flask_tables() -> None:
    run_sql(
        *(f'DROP TABLE IF EXISTS public."{table}" CASCADE' for table in FLASK_TABLES),
        "DELETE FROM django_migrations WHERE app = 'blog'",
        using=FLASK_DB,
    )


@pytest.fixture
def flask_pg(transactional_db: None) -> Iterator[FlaskApp]:
    """The Flask app on its test database (its tables in ``public``, beside Django's).

    The test needs the ``uses_flask_db`` mark, so that database exists.
    """
    drop_flask_tables()
    yield FlaskApp(sqlalchemy_url(FLASK_DB).render_as_string(hide_password=False))
    drop_flask_tables()


@dataclass
class DjangoProject:
    """A user's Django project in a temporary directory: one app, ``blog``, run by django-admin."""

    root: Path
    database: dict[str, object]
    strangler: dict[str, object]
    extra_env: dict[str, str] = field(default_factory=dict)

    def write_models(self, source: str) -> None:
        app = self.root / "blog"
        (app / "migrations").mkdir(parents=True, exist_ok=True)
        for package in (app, app / "migrations"):
            (package / "__init__.py").touch()
        (app / "models.py").write_text(source)

    def manage(self, *args: str, answers: str | None = None) -> subprocess.CompletedProcess[str]:
        """``django-admin ARGS`` in the project; ``answers`` is what the user types."""
        env = subprocess_env(
            path=str(self.root),
            DJANGO_SETTINGS_MODULE="tests.db.project_settings",
            STRANGLER_PROJECT_DATABASE=json.dumps(self.database),
            STRANGLER_PROJECT_STRANGLER=json.dumps(self.strangler),
            **self.extra_env,
        )
        return run_python(["-m", "django", *args], env, cwd=self.root, answers=answers)

    def plan(self, *args: str) -> list[dict[str, Any]]:
        result = self.manage("safemigrate", *args, "--plan", "--json")
        assert result.returncode == 0, result.stderr
        migrations: list[dict[str, Any]] = json.loads(result.stdout)["migrations"]
        return migrations


@pytest.fixture
def project(tmp_path: Path, flask_pg: FlaskApp) -> DjangoProject:
    """A Django project on the same database as the Flask app."""
    database = connections[FLASK_DB].settings_dict
    keep = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
    return DjangoProject(
        tmp_path / "project",
        {key: database[key] for key in keep},
        {"SQLALCHEMY_METADATA": "tests.db.flask_app:db.metadata"},
    )


@pytest.fixture
def sqlite_project(tmp_path: Path) -> DjangoProject:
    """A Django project on a SQLite file, ``app.db``, with the strangler backend."""
    database: dict[str, object] = {
        "ENGINE": "strangler.db.backends.sqlite3",
        "NAME": str(tmp_path / "app.db"),
    }
    return DjangoProject(tmp_path / "project", database, {})
