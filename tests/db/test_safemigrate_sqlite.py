"""``safemigrate`` on SQLite: a file Flask-Migrate built, the same RUN/FAKE/REFUSE, all or none."""

from __future__ import annotations

import hashlib
import io
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from strangler.db.adoption import advisory_lock
from tests.db.conftest import DjangoProject, FlaskApp


def files_digest(directory: Path) -> dict[str, str]:
    """Every file's SHA-256: equal before and after means not a byte changed."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


@pytest.fixture
def adopted(sqlite_project: DjangoProject) -> DjangoProject:
    """The Flask app's SQLite file (flask db upgrade) and Django models for it, migrations made."""
    path = Path(str(sqlite_project.database["NAME"]))
    FlaskApp(f"sqlite:///{path}").upgrade()
    generated = io.StringIO()
    call_command(
        "strangler_models", "tests.db.flask_app:db.metadata", "--managed", stdout=generated
    )
    sqlite_project.write_models(generated.getvalue())
    made = sqlite_project.manage("makemigrations", "blog")
    assert made.returncode == 0, made.stderr
    # Django's own apps first (plain migrate), so the plan is about blog alone.
    for app in ("contenttypes", "auth", "sessions", "strangler"):
        assert sqlite_project.manage("migrate", app).returncode == 0
    return sqlite_project


def sql(project: DjangoProject, *statements: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(str(project.database["NAME"])) as conn:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows += conn.execute(statement).fetchall()
    conn.close()
    return rows


def test_tables_flask_migrate_built_are_faked(adopted: DjangoProject) -> None:
    assert adopted.plan() == [
        {"app": "blog", "name": "0001_initial", "action": "fake", "differences": [], "accepted": []}
    ]
    result = adopted.manage("safemigrate")
    assert result.returncode == 0, result.stderr
    assert "Faking blog.0001_initial" in result.stdout
    assert sql(adopted, "SELECT name FROM django_migrations WHERE app = 'blog'") == [
        ("0001_initial",)
    ]
    assert adopted.plan() == []


def test_a_refused_plan_leaves_every_file_byte_identical(adopted: DjangoProject) -> None:
    sql(adopted, "ALTER TABLE post DROP COLUMN body", "DROP INDEX ix_post_published_at")
    [step] = adopted.plan()
    assert step["action"] == "refuse"
    assert step["differences"] == [
        "main.post.body: missing in the database, text NULL in the migration",
        "main.post (published_at): no index in the database, an index in the migration",
    ]
    before = files_digest(Path(str(adopted.database["NAME"])).parent)
    result = adopted.manage("safemigrate")
    assert result.returncode == 1
    assert "left unchanged" in result.stderr
    assert files_digest(Path(str(adopted.database["NAME"])).parent) == before


def test_a_failing_migration_undoes_the_ones_before_it(adopted: DjangoProject) -> None:
    later = adopted.root / "blog" / "migrations" / "0002_rating.py"
    later.write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('blog', '0001_initial')]\n"
        "    operations = [\n"
        "        migrations.AddField('post', 'rating', models.IntegerField(default=0)),\n"
        "        migrations.RunSQL('INSERT INTO no_such_table VALUES (1)'),\n"
        "    ]\n"
    )
    assert [(s["name"], s["action"]) for s in adopted.plan()] == [
        ("0001_initial", "fake"),
        ("0002_rating", "run"),
    ]
    schema_before = sql(adopted, "SELECT name, sql FROM sqlite_master ORDER BY name")
    result = adopted.manage("safemigrate")
    assert result.returncode == 1
    assert "no such table: no_such_table" in result.stderr
    assert sql(adopted, "SELECT name FROM django_migrations WHERE app = 'blog'") == []
    assert sql(adopted, "SELECT name, sql FROM sqlite_master ORDER BY name") == schema_before


def test_a_second_safemigrate_waits_for_the_first(adopted: DjangoProject) -> None:
    # The lock another safemigrate holds on this file, taken as that one takes it.
    holder = SimpleNamespace(
        vendor="sqlite", alias="default", settings_dict={"NAME": adopted.database["NAME"]}
    )
    with advisory_lock(holder, timeout=5):  # type: ignore[arg-type]
        late = adopted.manage("safemigrate", "--lock-timeout", "0.5")
    assert late.returncode == 1
    assert "held the lock on database 'default' for more than 0.5s" in late.stderr
    assert sql(adopted, "SELECT name FROM django_migrations WHERE app = 'blog'") == []
    assert adopted.manage("safemigrate").returncode == 0  # once it is free
