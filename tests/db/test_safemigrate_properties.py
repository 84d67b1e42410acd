"""``safemigrate --plan`` on generated tables: a plan or a clear error, and no write, ever.

Each example draws a table shape (the models' side: columns of several types,
nullability, database defaults, indexes, unique keys, a foreign key, a
composite primary key, a later ``AddField``; names with uppercase, spaces,
quotes and unicode), and a few *mutations* of it that give the database's side.
The database's table is built by Django's own schema editor from the mutated
shape, the migrations are written from the unmutated one, and the plan must be:

* RUN when the database has none of the tables;
* FAKE when it has them as the migrations make them, give or take what the
  migrations do not declare (an extra column, index or default);
* REFUSE when any declared thing differs, with a difference naming the table
  and, for a column's difference, the column;

never an error for these states, which ``makemigrations`` could have written;
for names Django cannot quote (a double quote in them), a plan or a
``CommandError`` that names the migration or table, never another exception.
Either way the catalog (PostgreSQL) or the files' bytes (SQLite) are the same
afterwards. The oracle is the list of mutations, not the planner's items.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, migrations, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter
from django.db.models.functions import Now
from django.db.utils import load_backend
from django.test import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.db.conftest import DjangoProject, Legacy, catalog_dump

APP = "strangler_adopt"
SCHEMA = "stgp_prop"

# Shrinking a failure runs many more examples than a pass (SQLite: a process each).
pytestmark = pytest.mark.timeout(600)

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    # Each example cleans up after itself; the fixtures only give the empty database.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- shapes -----------------------------------------------------------------------------------

# kind -> (field class and arguments, the database defaults it can be given)
KINDS: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "integer": ((models.IntegerField, {}), (0, 7)),
    "bigint": ((models.BigIntegerField, {}), (0, 7)),
    "varchar": ((models.CharField, {"max_length": 50}), ("a", "it's")),
    "text": ((models.TextField, {}), ("a", "b")),
    "boolean": ((models.BooleanField, {}), (True, False)),
    "decimal": ((models.DecimalField, {"max_digits": 8, "decimal_places": 2}), (Decimal("1.50"),)),
    "timestamp": ((models.DateTimeField, {}), (Now(),)),
    "fk": ((models.ForeignKey, {"on_delete": models.CASCADE}), ()),
}
KEYS = ("none", "index", "unique")


@dataclass(frozen=True)
class ColumnShape:
    """One field: its column's (odd) name, type, nullability, database default and key."""

    column: str
    kind: str
    null: bool
    default: int | None  # an index into KINDS[kind]'s defaults
    key: str

    def field(self, app: str) -> models.Field[Any, Any]:
        (cls, kwargs), defaults = KINDS[self.kind]
        options: dict[str, Any] = {**kwargs, "db_column": self.column, "null": self.null}
        if self.default is not None:
            options["db_default"] = defaults[self.default]
        if self.kind == "fk":
            # Indexed unless db_index=False, whatever else it is.
            options |= {"to": f"{app}.parent", "db_index": self.key != "none"}
        elif self.key == "unique":
            options["unique"] = True
        elif self.key == "index":
            options["db_index"] = True
        return cls(**options)


@dataclass(frozen=True)
class TableShape:
    """The child table (beside a plain parent), and the column a second migration adds."""

    table: str
    columns: tuple[ColumnShape, ...]
    composite_pk: bool
    unique_together: bool
    later: ColumnShape | None

    def create_operations(
        self, app: str, db_table: Callable[[str], str]
    ) -> list[migrations.operations.base.Operation]:
        fields: list[tuple[str, models.Field[Any, Any]]] = []
        if self.composite_pk:
            fields += [
                ("pk", models.CompositePrimaryKey("ka", "kb")),
                ("ka", models.IntegerField()),
                ("kb", models.IntegerField()),
            ]
        else:
            fields.append(("id", models.AutoField(primary_key=True)))
        fields += [(f"f{i}", column.field(app)) for i, column in enumerate(self.columns)]
        options: dict[str, Any] = {"db_table": db_table(self.table)}
        if self.unique_together and len(self.columns) >= 2:
            options["unique_together"] = {("f0", "f1")}
        return [
            migrations.CreateModel(
                "Parent",
                [("id", models.AutoField(primary_key=True))],
                options={"db_table": db_table("parent")},
            ),
            migrations.CreateModel("Child", fields, options=options),
        ]

    def later_operations(self, app: str) -> list[migrations.operations.base.Operation]:
        assert self.later is not None
        return [migrations.AddField("child", "later", self.later.field(app))]


def migration(
    app: str, name: str, operations: Sequence[Any], after: str | None = None
) -> migrations.Migration:
    """A migration as ``makemigrations`` writes one (a class of its own), for ``app``."""
    body = {
        "operations": list(operations),
        "dependencies": [(app, after)] if after else [],
        "initial": after is None,
    }
    made: migrations.Migration = type("Migration", (migrations.Migration,), body)(name, app)
    return made


def shape_migrations(
    shape: TableShape, app: str, db_table: Callable[[str], str]
) -> list[migrations.Migration]:
    """The migrations ``makemigrations`` would write for ``shape``: 0001, and 0002 if it adds."""
    made = [migration(app, "0001_initial", shape.create_operations(app, db_table))]
    if shape.later is not None:
        made.append(migration(app, "0002_later", shape.later_operations(app), "0001_initial"))
    return made


# --- strategies -------------------------------------------------------------------------------

# Uppercase, spaces, a quote, unicode: all legal in a quoted identifier. A
# double quote is not (Django does not escape it): see the test at the end.
NAME = st.text(st.sampled_from("abcXYZ_ 'é日ß$-0"), min_size=1, max_size=8).filter(
    lambda name: name.strip() == name and name.casefold() not in {"id", "ka", "kb", "later"}
)


@st.composite
def column_shapes(draw: st.DrawFn, name: st.SearchStrategy[str]) -> ColumnShape:
    kind = draw(st.sampled_from(sorted(KINDS)))
    defaults = KINDS[kind][1]
    default = draw(st.none() | st.integers(0, len(defaults) - 1)) if defaults else None
    key = "index" if kind == "fk" else draw(st.sampled_from(KEYS))
    return ColumnShape(draw(name), kind, draw(st.booleans()), default, key)


@st.composite
def table_shapes(draw: st.DrawFn) -> TableShape:
    names = draw(st.lists(NAME, min_size=2, max_size=6, unique_by=str.casefold))
    table, *columns = names
    later = draw(st.none() | column_shapes(st.just("later")))
    return TableShape(
        table=table,
        columns=tuple(draw(column_shapes(st.just(column))) for column in columns),
        composite_pk=draw(st.booleans()),
        unique_together=draw(st.booleans()),
        later=later,
    )


@dataclass(frozen=True)
class Mutation:
    """One way the database's table differs from the migrations'; ``breaking`` if declared."""

    what: str
    column: int | None  # the column it changes, an index into TableShape.columns
    breaking: bool


# Another type of another family: a difference on every database.
RETYPED = {
    "integer": "varchar",
    "bigint": "text",
    "varchar": "boolean",
    "text": "decimal",
    "boolean": "timestamp",
    "decimal": "integer",
    "timestamp": "bigint",
    "fk": "varchar",
}
# Another type of the same family (SQLite's affinity, lengths aside): a
# difference on PostgreSQL, none on SQLite, which stores both alike.
RESIZED = {"integer": "bigint", "bigint": "integer", "varchar": "text", "text": "varchar"}


def mutate_column(column: ColumnShape, what: str, vendor: str) -> tuple[ColumnShape | None, bool]:
    """The database's version of ``column`` after ``what``, and whether that is a difference."""
    defaults = KINDS[column.kind][1]
    if what == "drop":
        return None, True
    if what == "retype":
        return ColumnShape(column.column, RETYPED[column.kind], True, None, "none"), True
    if what == "resize" and column.kind in RESIZED and column.default is None:
        return replace(column, kind=RESIZED[column.kind]), vendor == "postgresql"
    if what == "null":
        return replace(column, null=not column.null), True
    if what == "default" and column.default is None and defaults:
        return replace(column, default=0), False  # a default only the database knows
    if what == "default" and column.default is not None:
        others = [i for i in range(len(defaults)) if i != column.default]
        return replace(column, default=others[0] if others else None), True
    if what == "key" and column.key != "none":
        return replace(column, key="none"), True
    if what == "key" and column.key == "none":
        return replace(column, key="index"), False  # an index only the database has
    return column, False


MUTATIONS = ("drop", "retype", "resize", "null", "default", "key")


@st.composite
def database_sides(
    draw: st.DrawFn, shape: TableShape, vendor: str
) -> tuple[str, TableShape, list[Mutation]]:
    """How much of ``shape`` the database has: nothing, the parent only, or a mutated table."""
    presence = draw(st.sampled_from(["none", "parent", "table", "table", "table"]))
    if presence != "table":
        return presence, shape, []
    mutations: list[Mutation] = []
    columns: list[ColumnShape] = []
    for index, column in enumerate(shape.columns):
        # Half the columns as declared, half changed one way.
        what = draw(st.none() | st.sampled_from(MUTATIONS))
        if what is None:
            columns.append(column)
            continue
        changed, breaking = mutate_column(column, what, vendor)
        mutations.append(Mutation(what, index, breaking))
        if changed is not None:
            columns.append(changed)
    if draw(st.booleans()):
        columns.append(ColumnShape("extra", "text", True, None, "none"))
        mutations.append(Mutation("extra column", None, False))
    unique_together = shape.unique_together
    kept = {c.column for c in columns}
    if shape.unique_together and len(shape.columns) >= 2:
        both = {shape.columns[0].column, shape.columns[1].column} <= kept
        if not both or draw(st.booleans()):
            unique_together = False
            mutations.append(Mutation("unique together", None, True))
    later = shape.later
    if later is not None:
        later = draw(st.sampled_from([None, later, replace(later, null=not later.null)]))
    database = replace(shape, columns=tuple(columns), unique_together=unique_together, later=later)
    return presence, database, mutations


def cases(
    vendor: str,
) -> st.SearchStrategy[tuple[TableShape, tuple[str, TableShape, list[Mutation]]]]:
    """A table shape and the database's side of it, on ``vendor``'s database."""
    return table_shapes().flatmap(
        lambda shape: st.tuples(st.just(shape), database_sides(shape, vendor))
    )


# --- the oracle -------------------------------------------------------------------------------


def expected_actions(
    shape: TableShape, presence: str, database: TableShape, mutations: list[Mutation]
) -> list[str]:
    """What each migration must be, from how the database was made."""
    if presence == "none":
        return ["run"] * (1 + (shape.later is not None))
    if presence == "parent":
        first = "refuse"  # half of 0001's tables: neither done nor to be done
    else:
        first = "refuse" if any(m.breaking for m in mutations) else "fake"
    if shape.later is None:
        return [first]
    if presence != "table" or database.later is None:
        return [first, "run"]
    return [first, "fake" if database.later == shape.later else "refuse"]


def check_plan(
    shape: TableShape,
    side: tuple[str, TableShape, list[Mutation]],
    plan: list[dict[str, Any]],
    schema: str,
) -> None:
    presence, database, mutations = side
    assert [step["action"] for step in plan] == expected_actions(
        shape, presence, database, mutations
    ), (shape, side, plan)
    differences = [text for step in plan for text in step["differences"]]
    if presence == "parent":
        assert f"{schema}.{shape.table}: missing in the database" in differences
    table = f"{schema}.{shape.table}"
    for mutation in mutations:
        if not mutation.breaking:
            continue
        if mutation.column is None:  # the table's unique key of two columns
            subjects = [f"{table} ("]
        else:
            column = shape.columns[mutation.column].column
            # A column's own difference, or its index, unique key or foreign key.
            subjects = [f"{table}.{column}:", f"{table} ({column})"]
        assert any(s in text for s in subjects for text in plan[0]["differences"]), (
            mutation,
            plan,
        )
    if shape.later is not None and plan[-1]["action"] == "refuse" and len(plan) == 2:
        assert any(".later:" in text for text in plan[1]["differences"]), plan


# --- building both sides ----------------------------------------------------------------------

_packages = count()


@dataclass
class MigrationPackage:
    """The migrations of ``shape`` written as a package, importable for one example."""

    root: Path
    name: str

    @classmethod
    def write(cls, root: Path, made: list[migrations.Migration]) -> MigrationPackage:
        name = f"stgp_migrations_{next(_packages)}"
        package = root / name
        package.mkdir(parents=True)
        (package / "__init__.py").touch()
        for one in made:
            (package / f"{one.name}.py").write_text(MigrationWriter(one).as_string())
        importlib.invalidate_caches()
        return cls(root, name)

    def forget(self) -> None:
        for module in [m for m in sys.modules if m.split(".")[0] == self.name]:
            del sys.modules[module]


def build_database(
    connection: BaseDatabaseWrapper,
    presence: str,
    database: TableShape,
    app: str,
    db_table: Callable[[str], str],
) -> None:
    """Create the database's side with Django's own schema editor, as ``migrate`` would."""
    if presence == "none":
        return
    made = shape_migrations(database, app, db_table)
    if presence == "parent":
        made = [migration(app, "0001_initial", made[0].operations[:1])]
    state = ProjectState()
    with connection.schema_editor() as editor:
        for one in made:
            state = one.apply(state, editor)


def plan_json(*args: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("safemigrate", *args, "--plan", "--json", stdout=out)
    plan: list[dict[str, Any]] = json.loads(out.getvalue())["migrations"]
    return plan


def plan_or_error(*args: str) -> list[dict[str, Any]] | str:
    """The plan, or the message of the ``CommandError`` that refused to make one."""
    try:
        return plan_json(*args)
    except CommandError as exc:
        return str(exc)


def in_schema(name: str) -> str:
    return f'"{SCHEMA}"."{name}"'


def reset_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


@PROPERTY
@given(case=cases("postgresql"))
def test_postgresql_plan_matches_what_the_database_has(
    legacy: Legacy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[TableShape, tuple[str, TableShape, list[Mutation]]],
) -> None:
    shape, side = case
    monkeypatch.syspath_prepend(str(tmp_path))
    reset_schema()
    package = MigrationPackage.write(tmp_path, shape_migrations(shape, APP, in_schema))
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        build_database(connection, side[0], side[1], APP, in_schema)
        before = catalog_dump()
        with override_settings(MIGRATION_MODULES={APP: package.name}):
            plan = plan_json(APP)
        assert catalog_dump() == before
    finally:
        package.forget()
        reset_schema()
    event(" ".join(step["action"] for step in plan))
    check_plan(shape, side, plan, SCHEMA)


_PART = st.text(st.sampled_from('ab."X日'), max_size=3)
QUOTED_NAME = st.builds(lambda head, tail: f'{head}"{tail}', _PART, _PART)


@PROPERTY
@given(table=QUOTED_NAME, column=QUOTED_NAME)
def test_postgresql_names_with_double_quotes_plan_or_fail_clearly(
    legacy: Legacy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, column: str
) -> None:
    """Names Django cannot quote (it does not double ``"``): nothing to find, so RUN or an error."""
    only = ColumnShape(column, "text", True, None, "index")
    shape = TableShape(table, (only,), False, False, None)
    monkeypatch.syspath_prepend(str(tmp_path))
    package = MigrationPackage.write(tmp_path, shape_migrations(shape, APP, in_schema))
    before = catalog_dump()
    try:
        with override_settings(MIGRATION_MODULES={APP: package.name}):
            outcome = plan_or_error(APP)
    finally:
        package.forget()
    assert catalog_dump() == before
    if isinstance(outcome, str):
        event("error")
        assert f"{APP}.0001_initial" in outcome or table in outcome, outcome
    else:
        event("run")
        assert [step["action"] for step in outcome] == ["run"]


@contextmanager
def sqlite_file(path: Path) -> Iterator[BaseDatabaseWrapper]:
    """A connection of this process to the project's SQLite file (stock backend: no schemas).

    Known to ``connections`` as ``"file"`` while in use: ``atomic()`` finds it by alias.
    """
    settings_dict = connections.configure_settings(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}}
    )["default"]
    wrapper: BaseDatabaseWrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
        settings_dict, "file"
    )
    connections["file"] = wrapper
    try:
        wrapper.ensure_connection()  # the file exists, as a user's does
        yield wrapper
    finally:
        wrapper.close()
        del connections["file"]


def files_digest(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


@settings(PROPERTY, max_examples=30)
@given(case=cases("sqlite"))
def test_sqlite_plan_matches_what_the_file_has(
    sqlite_project: DjangoProject,
    django_db_blocker: Any,
    case: tuple[TableShape, tuple[str, TableShape, list[Mutation]]],
) -> None:
    """The same property through ``django-admin`` on a SQLite file (one process per example)."""
    shape, side = case
    database = Path(str(sqlite_project.database["NAME"]))
    database.unlink(missing_ok=True)
    sqlite_project.write_models("from django.db import models\n")
    sqlite_project.extra_env["PYTHONDONTWRITEBYTECODE"] = "1"
    package = sqlite_project.root / "blog" / "migrations"
    for old in package.glob("0*.py"):
        old.unlink()
    for one in shape_migrations(shape, "blog", str):
        (package / f"{one.name}.py").write_text(MigrationWriter(one).as_string())
    with django_db_blocker.unblock(), sqlite_file(database) as wrapper:
        build_database(wrapper, side[0], side[1], "blog", str)
    before = files_digest(database.parent)
    plan = sqlite_project.plan("blog")
    assert files_digest(database.parent) == before
    event(" ".join(step["action"] for step in plan))
    check_plan(shape, side, plan, "main")
