"""``manage.py safemigrate`` against tables built by real Alembic migrations."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from strangler.db.adoption import advisory_lock
from tests.db.adopt_app.models import Person, Sample
from tests.db.conftest import FLASK_DB, DjangoProject, FlaskApp, Legacy, catalog_dump, uses_flask_db

ADOPT = "strangler_adopt"


def plan(*args: str) -> dict[str, tuple[str, list[str]]]:
    out = io.StringIO()
    call_command("safemigrate", ADOPT, *args, "--plan", "--json", stdout=out)
    return {
        m["name"]: (m["action"], m["differences"]) for m in json.loads(out.getvalue())["migrations"]
    }


def safemigrate(*args: str) -> str:
    out = io.StringIO()
    call_command("safemigrate", ADOPT, *args, stdout=out)
    return out.getvalue()


def test_nothing_there_runs_everything(legacy: Legacy) -> None:
    assert plan() == {"0001_initial": ("run", []), "0002_sample_volume": ("run", [])}
    safemigrate()
    assert legacy.applied() == ["0001_initial", "0002_sample_volume"]
    assert plan() == {}


def test_fake_initial_adoption_then_run_the_field_alembic_does_not_have(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    assert plan() == {"0001_initial": ("fake", []), "0002_sample_volume": ("run", [])}
    before = catalog_dump()
    output = safemigrate()
    assert "Faking strangler_adopt.0001_initial" in output
    assert "Applying strangler_adopt.0002_sample_volume" in output
    assert legacy.applied() == ["0001_initial", "0002_sample_volume"]
    after = catalog_dump()
    added = [row for row in after if row not in before]
    assert any("volume_ml" in map(str, row) for row in added)
    # Django works on the tables Alembic made, and their defaults still apply.
    ada = Person.objects.create(name="Ada")
    Sample.objects.create(name="S-1", owner=ada, volume_ml="1.50")
    sample = Sample.objects.get()
    assert sample.created is not None
    assert str(sample.volume_ml) == "1.50"


def test_later_add_field_already_applied_by_alembic_is_faked(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    assert plan() == {"0001_initial": ("fake", []), "0002_sample_volume": ("fake", [])}
    before = catalog_dump()
    safemigrate()
    assert legacy.applied() == ["0001_initial", "0002_sample_volume"]
    changed = set(catalog_dump()) ^ set(before)
    assert all(row[0] == ADOPT for row in changed)  # only the two django_migrations rows


def test_plan_stops_at_the_named_migration(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    assert plan("0001") == {"0001_initial": ("fake", [])}
    safemigrate("0001")
    assert legacy.applied() == ["0001_initial"]
    assert plan() == {"0002_sample_volume": ("run", [])}


MISMATCHES = [
    pytest.param(
        [
            "ALTER TABLE stga_labs.sample ALTER COLUMN name TYPE varchar(50)",
            "ALTER TABLE stga_labs.sample ALTER COLUMN name DROP NOT NULL",
        ],
        "stga_labs.sample.name: varchar(50) NULL in the database, "
        "varchar(100) NOT NULL in the migration",
        id="type-and-nullability",
    ),
    pytest.param(
        ["ALTER TABLE stga_labs.sample ALTER COLUMN created DROP DEFAULT"],
        "stga_labs.sample.created: timestamptz NOT NULL in the database, "
        "timestamptz NOT NULL DEFAULT now() in the migration",
        id="default",
    ),
    pytest.param(
        ["ALTER TABLE stga_labs.sample DROP COLUMN name"],
        "stga_labs.sample.name: missing in the database, varchar(100) NOT NULL in the migration",
        id="missing-column",
    ),
    pytest.param(
        ["ALTER TABLE stga_labs.tag DROP CONSTRAINT tag_pkey CASCADE"],
        "stga_labs.tag: no primary key in the database, primary key (id) in the migration",
        id="primary-key",
    ),
    pytest.param(
        ["ALTER TABLE stga_labs.sample DROP CONSTRAINT sample_owner_id_fkey"],
        "stga_labs.sample.owner_id: no foreign key in the database, "
        "a foreign key to stga_core.person(id) in the migration",
        id="foreign-key",
    ),
    pytest.param(
        [
            "ALTER TABLE stga_labs.sample DROP CONSTRAINT sample_owner_id_fkey",
            "ALTER TABLE stga_labs.sample ADD FOREIGN KEY (owner_id) REFERENCES stga_labs.tag(id)",
        ],
        "stga_labs.sample.owner_id: a foreign key to stga_labs.tag(id) in the database, "
        "a foreign key to stga_core.person(id) in the migration",
        id="foreign-key-target",
    ),
    pytest.param(
        ["ALTER TABLE stga_labs.tag DROP CONSTRAINT tag_label_key"],
        "stga_labs.tag (label): not unique in the database, unique in the migration",
        id="unique",
    ),
    pytest.param(
        ["DROP INDEX stga_labs.ix_sample_owner_id"],
        "stga_labs.sample (owner_id): no index in the database, an index in the migration",
        id="index",
    ),
    pytest.param(
        ["DROP TABLE stga_labs.sample_tags"],
        "stga_labs.sample_tags: missing in the database",
        id="m2m-table",
    ),
    pytest.param(
        ["DROP TABLE stga_labs.tag CASCADE"],
        "stga_labs.tag: missing in the database",
        id="partial-existence",
    ),
]


@pytest.mark.parametrize(("tamper", "difference"), MISMATCHES)
def test_mismatches_are_refused_and_listed(
    legacy: Legacy, tamper: list[str], difference: str
) -> None:
    legacy.upgrade("r1")
    legacy.sql(*tamper)
    action, differences = plan()["0001_initial"]
    assert action == "refuse"
    assert difference in differences


def test_index_matched_by_columns_not_by_name(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    legacy.sql("ALTER INDEX stga_labs.ix_sample_owner_id RENAME TO whatever_it_was_called")
    assert plan()["0001_initial"] == ("fake", [])


def test_refused_plan_leaves_the_database_byte_for_byte_unchanged(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    legacy.sql("ALTER TABLE stga_labs.sample ALTER COLUMN name TYPE varchar(50)")
    before = catalog_dump()
    with pytest.raises(CommandError, match=r"refused strangler_adopt\.0001_initial"):
        safemigrate()
    assert catalog_dump() == before
    assert legacy.applied() == []


def test_refusal_of_a_later_migration_applies_nothing_before_it(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    legacy.sql("ALTER TABLE stga_labs.sample ALTER COLUMN volume_ml TYPE numeric(12, 4)")
    before = catalog_dump()
    assert plan()["0001_initial"] == ("fake", [])
    assert plan()["0002_sample_volume"] == (
        "refuse",
        [
            "stga_labs.sample.volume_ml: numeric(12,4) NULL in the database, "
            "numeric(8,2) NULL in the migration"
        ],
    )
    with pytest.raises(CommandError, match="0002_sample_volume"):
        safemigrate()
    assert catalog_dump() == before


def test_accept_a_listed_difference(legacy: Legacy) -> None:
    legacy.upgrade("r2")
    legacy.sql("DROP INDEX stga_labs.ix_sample_owner_id")
    subject = "stga_labs.sample (owner_id)"
    assert plan("--accept", subject) == {
        "0001_initial": ("fake", []),
        "0002_sample_volume": ("fake", []),
    }
    # --json shows what was accepted, marked so, not only the text report.
    out = io.StringIO()
    call_command("safemigrate", ADOPT, "--accept", subject, "--plan", "--json", stdout=out)
    first = json.loads(out.getvalue())["migrations"][0]
    assert first["differences"] == []
    assert first["accepted"] == [
        "stga_labs.sample (owner_id): no index in the database, an index in the migration"
    ]
    output = safemigrate("--accept", subject)
    assert "Faking strangler_adopt.0001_initial" in output
    assert legacy.applied() == ["0001_initial", "0002_sample_volume"]


def test_accept_that_matches_nothing_is_an_error(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    with pytest.raises(CommandError, match=r"matched no difference.*'stga_labs\.smaple\.name'"):
        plan("--accept", "stga_labs.smaple.name")


def test_failure_part_way_undoes_the_fakes_before_it(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    # 0002 will RUN, and fail: a column it does not know about blocks nothing, but a
    # lock timeout of zero on a table we hold does.
    legacy.sql("ALTER TABLE stga_labs.sample ADD CONSTRAINT no_volume CHECK (false) NOT VALID")
    legacy.sql(
        "CREATE FUNCTION stga_labs.boom() RETURNS event_trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'boom'; END $$"
    )
    legacy.sql(
        "CREATE EVENT TRIGGER stga_boom ON ddl_command_end WHEN TAG IN ('ALTER TABLE') "
        "EXECUTE FUNCTION stga_labs.boom()"
    )
    try:
        with pytest.raises(Exception, match="boom"):
            safemigrate()
        assert legacy.applied() == []
    finally:
        legacy.sql("DROP EVENT TRIGGER stga_boom")


def test_plan_json_format(legacy: Legacy) -> None:
    out = io.StringIO()
    call_command("safemigrate", "--plan", "--json", stdout=out)
    document = json.loads(out.getvalue())
    mine = [m for m in document["migrations"] if m["app"] == ADOPT]
    assert mine == [
        {"app": ADOPT, "name": "0001_initial", "action": "run", "differences": [], "accepted": []},
        {
            "app": ADOPT,
            "name": "0002_sample_volume",
            "action": "run",
            "differences": [],
            "accepted": [],
        },
    ]


def test_human_plan_lists_actions_and_differences(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    legacy.sql("ALTER TABLE stga_labs.sample ALTER COLUMN name DROP NOT NULL")
    out = io.StringIO()
    call_command("safemigrate", ADOPT, "--plan", stdout=out, no_color=True)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["strangler_adopt.0001_initial", "REFUSE"]
    assert lines[1].strip() == (
        "stga_labs.sample.name: varchar(100) NULL in the database, "
        "varchar(100) NOT NULL in the migration"
    )
    assert lines[2].split() == ["strangler_adopt.0002_sample_volume", "RUN"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_app"], "No installed app with label 'no_such_app'"),
        (["contenttypes", "0009"], "Cannot find a migration matching '0009'"),
        ([ADOPT, "zero"], "only goes forwards"),
        ([ADOPT, "--json"], "--json only goes with --plan"),
        ([ADOPT, "--lock-timeout", "0"], "--lock-timeout must be a positive"),
    ],
)
def test_bad_input_is_a_clear_error(legacy: Legacy, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("safemigrate", *args, stdout=io.StringIO())


def test_unapplying_is_refused(legacy: Legacy) -> None:
    safemigrate()
    with pytest.raises(CommandError, match=r"would unapply strangler_adopt\.0002_sample_volume"):
        call_command("safemigrate", ADOPT, "0001", stdout=io.StringIO())


def run_in_thread(results: dict[str, Any], name: str, *args: str) -> threading.Thread:
    def target() -> None:
        try:
            results[name] = safemigrate(*args)
        except BaseException as exc:  # reported by the test
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_waits_for_the_advisory_lock(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    results: dict[str, Any] = {}
    with advisory_lock(connection, timeout=5):
        thread = run_in_thread(results, "second")
        time.sleep(0.5)
        assert thread.is_alive(), "safemigrate did not wait for the lock"
        assert legacy.applied() == []
    thread.join(timeout=30)
    assert "Applied 1, faked 1" in results["second"]


def test_gives_up_after_the_lock_timeout(legacy: Legacy) -> None:
    results: dict[str, Any] = {}
    with advisory_lock(connection, timeout=5):
        thread = run_in_thread(results, "late", "--lock-timeout", "0.3")
        thread.join(timeout=10)
    assert isinstance(results["late"], CommandError)
    assert "held the lock" in str(results["late"])
    assert legacy.applied() == []


def test_two_concurrent_runs_apply_each_migration_once(legacy: Legacy) -> None:
    legacy.upgrade("r1")
    results: dict[str, Any] = {}
    threads = [run_in_thread(results, name) for name in ("a", "b")]
    for thread in threads:
        thread.join(timeout=60)
    outputs = sorted(str(results[name]) for name in ("a", "b"))
    assert not any(isinstance(results[name], BaseException) for name in ("a", "b")), outputs
    assert "No migrations to apply." in outputs[1] or "No migrations to apply." in outputs[0]
    assert legacy.applied() == ["0001_initial", "0002_sample_volume"]


class NoAdoptOnDefault:
    """A router that keeps strangler_adopt's tables off the default database."""

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if app_label == ADOPT else None


def test_routers_decide_which_tables_are_compared_and_created(
    legacy: Legacy, settings: Any
) -> None:
    settings.DATABASE_ROUTERS = [f"{__name__}.NoAdoptOnDefault"]
    legacy.sql("CREATE SCHEMA stga_labs", "CREATE TABLE stga_labs.sample (unrelated text)")
    # Not this database's table: no difference to find, and nothing to create.
    assert plan() == {"0001_initial": ("run", []), "0002_sample_volume": ("run", [])}
    safemigrate()
    assert legacy.applied() == ["0001_initial", "0002_sample_volume"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('stga_labs.tag'), to_regclass('stga_core.person')")
        assert cursor.fetchone() == (None, None)


def test_unknown_database_alias_is_refused(legacy: Legacy) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'elsewhere'"):
        call_command("safemigrate", "--database", "elsewhere", "--plan")


def test_inconsistent_history_is_refused(legacy: Legacy) -> None:
    legacy.sql(
        "INSERT INTO django_migrations (app, name, applied) "
        "VALUES ('strangler_adopt', '0002_sample_volume', now())"
    )
    with pytest.raises(CommandError, match=r"before its dependency strangler_adopt\.0001_initial"):
        plan()


@uses_flask_db
def test_the_playbook_on_a_flask_sqlalchemy_app(project: DjangoProject, flask_pg: FlaskApp) -> None:
    """strangler_models -> makemigrations -> safemigrate, on tables Flask-Migrate built.

    Naive timestamps, a user table, and an association table whose primary key
    is its two foreign keys, which Django leaves out of an unmanaged CreateModel.
    """
    flask_pg.upgrade()
    generated = io.StringIO()
    call_command("strangler_models", "tests.db.flask_app:db.metadata", stdout=generated)
    project.write_models(generated.getvalue())
    assert project.manage("makemigrations", "blog").returncode == 0
    assert [(m["name"], m["action"]) for m in project.plan()] == [("0001_initial", "run")]
    assert project.manage("safemigrate").returncode == 0
    # Take them: managed = True. Django first only changes the options; the next
    # makemigrations adds the foreign keys the unmanaged CreateModel left out,
    # asking for a one-off default for the rows (never used: the step is faked).
    project.write_models(generated.getvalue().replace("managed = False", "managed = True"))
    made = project.manage("makemigrations", "blog")
    assert made.returncode == 0, made.stderr
    made = project.manage("makemigrations", "blog", answers="1\n1\n" * 3)
    assert made.returncode == 0, made.stderr
    assert made.stdout.count("+ Add field") == 3
    plan = project.plan()
    assert [(m["name"][:4], m["action"], m["differences"]) for m in plan] == [
        ("0002", "fake", []),
        ("0003", "fake", []),
    ]
    before = catalog_dump(FLASK_DB)
    applied = project.manage("safemigrate")
    assert applied.returncode == 0, applied.stderr
    assert [row for row in catalog_dump(FLASK_DB) if row not in before] == [
        row for row in catalog_dump(FLASK_DB) if row[0] == "blog" and row not in before
    ]
    assert project.manage("makemigrations", "blog", "--check", "--dry-run").returncode == 0


@uses_flask_db
def test_a_broken_migration_state_is_a_clear_error(
    project: DjangoProject, flask_pg: FlaskApp
) -> None:
    """A hand-edited migration that points at a model no migration creates: no traceback."""
    project.write_models("from django.db import models\n")
    (project.root / "blog" / "migrations" / "0001_initial.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    initial = True\n"
        "    operations = [\n"
        "        migrations.CreateModel(\n"
        "            name='Post',\n"
        "            fields=[\n"
        "                ('id', models.AutoField(primary_key=True)),\n"
        "                ('author', models.ForeignKey('blog.ghost', models.CASCADE)),\n"
        "            ],\n"
        "        ),\n"
        "    ]\n"
    )
    result = project.manage("safemigrate", "--plan")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "blog.0001_initial" in result.stderr
