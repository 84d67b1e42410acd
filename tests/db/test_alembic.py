"""``strangler.alembic.include_object``: real Alembic autogenerate leaves Django's tables.

Both sides share a database the way users share one: the Flask-SQLAlchemy app
beside Django's own tables in ``public`` (``flask db check``, the command a
Flask team runs in CI), and the legacy app in two schemas beside Django's in
``public`` and in schemas of its own (``include_schemas=True``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.pool import NullPool

from strangler.alembic import OWNER_KEY, include_object
from tests.db.conftest import FLASK_DB, FlaskApp, Legacy, run_sql, sqlalchemy_url, uses_flask_db
from tests.db.flask_app import db
from tests.db.legacy import VERSION_TABLE
from tests.db.legacy.models import Base


def autogenerate(metadata: sa.MetaData, *, using: str = "default", **options: Any) -> list[Any]:
    """What ``alembic revision --autogenerate`` would write on ``using``, as Alembic's diffs."""
    engine = sa.create_engine(sqlalchemy_url(using), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE, **options}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def dropped_tables(diffs: list[Any]) -> set[str]:
    return {
        f"{diff[1].schema or 'public'}.{diff[1].name}"
        for diff in diffs
        if isinstance(diff, tuple) and diff[0] == "remove_table"
    }


def touched_tables(diffs: list[Any]) -> set[str]:
    """Tables a diff names, flattening Alembic's per-column lists."""
    names: set[str] = set()
    for diff in diffs:
        for item in diff if isinstance(diff, list) else [diff]:
            if item[0] in ("add_table", "remove_table"):
                names.add(item[1].name)
            elif item[0].endswith("_column") or item[0].startswith("modify_"):
                names.add(item[3] if item[0].startswith("modify_") else item[2])
            else:
                names.add(getattr(getattr(item[1], "table", None), "name", "?"))
    return names


@contextmanager
def handed_over(table: sa.Table) -> Iterator[None]:
    """The documented hand-over: ``info={"strangler_owner": "django"}`` on the table."""
    table.info[OWNER_KEY] = "django"
    try:
        yield
    finally:
        del table.info[OWNER_KEY]


@uses_flask_db
def test_flask_db_check_without_the_filter_would_drop_djangos_tables(flask_pg: FlaskApp) -> None:
    flask_pg.upgrade()
    result = flask_pg.flask("db", "check", handed_over=False)
    assert result.returncode != 0
    assert "remove_table" in result.stderr
    for table in ("auth_user", "django_migrations", "django_content_type"):
        assert table in result.stderr, table


@uses_flask_db
def test_flask_db_check_with_include_object_leaves_djangos_tables(flask_pg: FlaskApp) -> None:
    flask_pg.upgrade()
    result = flask_pg.flask("db", "check")
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


@uses_flask_db
def test_one_schema_handed_over_table_is_never_altered(flask_pg: FlaskApp) -> None:
    flask_pg.upgrade()
    # Django owns tag now and has changed it; Flask's model still says the old thing.
    run_sql(
        "ALTER TABLE public.tag ADD COLUMN slug varchar(50) NULL",
        "ALTER TABLE public.tag ALTER COLUMN name TYPE varchar(80)",
        "CREATE INDEX tag_slug_idx ON public.tag (slug)",
        using=FLASK_DB,
    )
    tag = db.metadata.tables["tag"]
    assert "tag" in touched_tables(
        autogenerate(db.metadata, using=FLASK_DB)
    )  # the bug, before hand-over
    with handed_over(tag):
        diffs = autogenerate(db.metadata, using=FLASK_DB, include_object=include_object)
    assert diffs == []
    # Flask's own tables are still compared: a change to one is proposed.
    run_sql("ALTER TABLE public.post DROP COLUMN body", using=FLASK_DB)
    with handed_over(tag):
        diffs = autogenerate(db.metadata, using=FLASK_DB, include_object=include_object)
    assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "post", "body")]


@uses_flask_db
def test_handed_over_table_missing_from_the_database_is_not_created(flask_pg: FlaskApp) -> None:
    flask_pg.upgrade()
    run_sql("DROP TABLE public.post_tags", using=FLASK_DB)  # Django renamed or replaced it
    post_tags = db.metadata.tables["post_tags"]
    assert [d[0] for d in autogenerate(db.metadata, using=FLASK_DB)].count("add_table") == 1
    with handed_over(post_tags):
        assert autogenerate(db.metadata, using=FLASK_DB, include_object=include_object) == []


def test_several_schemas(legacy: Legacy) -> None:
    """Legacy tables in stga_core and stga_labs; Django's in public, stg_core and stg_lab."""
    legacy.upgrade("head")
    diffs = autogenerate(Base.metadata, include_schemas=True)
    dropped = dropped_tables(diffs)
    assert {"public.auth_user", "public.django_session", "stg_lab.sample"} <= dropped
    assert autogenerate(Base.metadata, include_schemas=True, include_object=include_object) == []
    # Django took stga_labs.sample over and added a column; Alembic leaves it.
    run_sql("ALTER TABLE stga_labs.sample ADD COLUMN weight_g integer NULL")
    sample = Base.metadata.tables["stga_labs.sample"]
    with handed_over(sample):
        options: dict[str, Any] = {"include_schemas": True, "include_object": include_object}
        assert autogenerate(Base.metadata, **options) == []
    assert "sample" in touched_tables(autogenerate(Base.metadata, include_schemas=True))


@pytest.mark.parametrize(
    ("type_", "reflected", "with_counterpart", "marked", "expected"),
    [
        ("table", True, False, False, False),  # only in the database: Django's
        ("table", False, False, False, True),  # only in the metadata: Flask's new table
        ("table", False, True, False, True),
        ("table", False, True, True, False),
        ("table", False, False, True, False),
        ("column", True, False, True, False),
        ("index", False, False, True, False),
        ("foreign_key_constraint", False, True, False, True),
    ],
)
def test_include_object_rules(
    type_: str, reflected: bool, with_counterpart: bool, marked: bool, expected: bool
) -> None:
    metadata = sa.MetaData()
    table = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True))
    if marked:
        table.info[OWNER_KEY] = "django"
    obj: Any = (
        table
        if type_ == "table"
        else table.c.id
        if type_ == "column"
        else sa.Index("ix", table.c.id)
    )
    counterpart = (
        sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer)) if with_counterpart else None
    )
    assert include_object(obj, "t", type_, reflected, counterpart) is expected
