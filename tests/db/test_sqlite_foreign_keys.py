"""Issue 8, item 5: Django on a SQLite file whose foreign key SQLite cannot enforce.

SQLAlchemy lets an app declare a foreign key to a column that is not unique;
SQLite stores it, and Django's ``PRAGMA foreign_key_check`` then fails with
"foreign key mismatch" on every schema change, so nothing can be adopted.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from tests.db.conftest import DjangoProject


def make_legacy_file(path: Path) -> None:
    """What an older Flask app left: ``order.customer_code`` points at a non-unique column."""
    metadata = sa.MetaData()
    sa.Table(
        "customer",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(10), nullable=False),  # unique by habit, not by index
        sa.Column("name", sa.String(100)),
    )
    sa.Table(
        "order",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_code", sa.String(10), sa.ForeignKey("customer.code")),
        sa.Column("placed", sa.DateTime),
    )
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(metadata.tables["customer"].insert(), [{"code": "C1", "name": "Ada"}])
        conn.execute(metadata.tables["order"].insert(), [{"customer_code": "C1"}])
    engine.dispose()


ORDER_MODEL = """from django.db import models


class Order(models.Model):
    customer_code = models.CharField(max_length=10, null=True)
    placed = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "order"
"""


def legacy_state(path: Path) -> list[tuple[object, ...]]:
    """The legacy tables' definitions, indexes and rows."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('customer', 'order') "
            "ORDER BY name"
        ).fetchall()
        rows += conn.execute("SELECT * FROM customer ORDER BY id").fetchall()
        rows += conn.execute('SELECT * FROM "order" ORDER BY id').fetchall()
    conn.close()
    return rows


def test_stock_django_cannot_migrate_such_a_file(sqlite_project: DjangoProject) -> None:
    path = Path(str(sqlite_project.database["NAME"]))
    make_legacy_file(path)
    sqlite_project.database["ENGINE"] = "django.db.backends.sqlite3"
    sqlite_project.write_models("from django.db import models\n")
    result = sqlite_project.manage("migrate")
    assert result.returncode != 0
    assert 'foreign key mismatch - "order" referencing "customer"' in result.stderr


def test_the_strangler_backend_migrates_reports_and_leaves_the_legacy_tables(
    sqlite_project: DjangoProject,
) -> None:
    path = Path(str(sqlite_project.database["NAME"]))
    make_legacy_file(path)
    before = legacy_state(path)
    sqlite_project.write_models("from django.db import models\n")
    migrated = sqlite_project.manage("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "strangler.W042" in migrated.stderr
    assert (
        "main.order (customer_code): a foreign key to main.customer(code), which is neither "
        "its primary key nor unique" in migrated.stderr
    )
    assert legacy_state(path) == before
    # Django works on the legacy tables too, as the legacy app did.
    wrote = sqlite_project.manage(
        "shell",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('''INSERT INTO \"order\" (customer_code) VALUES ('C1')''')\n"
        "    c.execute('''UPDATE customer SET code = 'C2' WHERE id = 1''')\n"
        "    c.execute('SELECT count(*) FROM \"order\"')\n"
        "    print(c.fetchone()[0])",
    )
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout.strip().splitlines()[-1] == "2"
    checked = sqlite_project.manage("check", "--database", "default")
    assert "strangler.W042" in checked.stderr
    # strangler_drift says it too, for a table the project's models map.
    sqlite_project.write_models(ORDER_MODEL)
    drift = sqlite_project.manage("strangler_drift")
    assert drift.returncode == 1
    assert (
        "main.order (customer_code): a foreign key to main.customer(code), which is neither "
        "its primary key nor unique: SQLite cannot enforce it (foreign key mismatch); see "
        "strangler.W042"
    ) in drift.stdout.splitlines()


def test_once_the_key_is_enforceable_enforcement_is_back(sqlite_project: DjangoProject) -> None:
    path = Path(str(sqlite_project.database["NAME"]))
    make_legacy_file(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE UNIQUE INDEX customer_code_key ON customer (code)")
    conn.close()
    sqlite_project.write_models("from django.db import models\n")
    migrated = sqlite_project.manage("migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "strangler.W042" not in migrated.stderr
    refused = sqlite_project.manage(
        "shell",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('''INSERT INTO \"order\" (customer_code) VALUES ('nobody')''')",
    )
    assert "FOREIGN KEY constraint failed" in refused.stderr
