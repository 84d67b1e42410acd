"""Fixtures for the database side: the legacy schema built by real Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from django.db import connection
from sqlalchemy.pool import NullPool

from tests.db.legacy import VERSION_TABLE

ALEMBIC_DIR = Path(__file__).resolve().parent / "legacy" / "migrations"
LEGACY_SCHEMAS = ("stga_core", "stga_labs")


def sqlalchemy_url() -> sqlalchemy.URL:
    """The Django test database, as SQLAlchemy spells it."""
    settings = connection.settings_dict
    return sqlalchemy.URL.create(
        "postgresql+psycopg",
        username=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        database=settings["NAME"],
    )


def run_sql(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def catalog_dump() -> list[tuple[object, ...]]:
    """Everything the catalog says about the user schemas, and django_migrations.

    Compared before and after a refused safemigrate: equal means not a byte of
    the schema (nor the migration history) changed.
    """
    rows: list[tuple[object, ...]] = []
    with connection.cursor() as cursor:
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
        with connection.cursor() as cursor:
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
