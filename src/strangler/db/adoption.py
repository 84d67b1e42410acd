"""``safemigrate``'s plan: for each unapplied migration, RUN, FAKE or REFUSE.

A migration is judged by what it changes, not by its operations' names. The
tables of every model it touches are reduced to items (``strangler.db.catalog``)
in the project state before it and after it (read from the model states without
rendering them, ``strangler.db.state``), and the items that differ are what the
migration does. Each of those is then looked up in one read of the catalog:

* every item already as the migration leaves it -> FAKE (Alembic did it);
* every item still as the migration finds it -> RUN;
* anything else -> REFUSE, with one line per item that is neither.

Later migrations are judged against the database as the earlier ones will
leave it, so an ``AddField`` after a RUN ``CreateModel`` is a RUN, and one that
Alembic already applied is a FAKE.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState

from .catalog import read_catalog
from .describe import describe_item, item_subject
from .items import ItemKey, Items, same_item
from .state import ModelKey, referencing_models, state_items

__all__ = [
    "AdoptionStep",
    "LockTimeout",
    "advisory_lock",
    "apply_adoption",
    "plan_adoption",
]

Action = Literal["run", "fake", "refuse"]

# One lock per database for every safemigrate, whatever the project.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"strangler.safemigrate").digest()[:8], "big", signed=True)


@dataclass
class AdoptionStep:
    """One unapplied migration and what safemigrate will do with it."""

    migration: Migration
    action: Action
    differences: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.migration.app_label}.{self.migration.name}"

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.migration.app_label,
            "name": self.migration.name,
            "action": self.action,
            "differences": list(self.differences),
            # Differences --accept took as matches: still shown, so a script sees them.
            "accepted": list(self.accepted),
        }


def _difference(key: ItemKey, live: Any, expected: Any) -> str:
    subject = item_subject(key)
    if key[2] == "table" and live is None:
        return f"{subject}: missing in the database"
    if key[2] == "table" and expected is None:
        return f"{subject}: still in the database, the migration removes it"
    if key[2] == "column" and live is None:
        return f"{subject}: missing in the database, {expected} in the migration"
    if key[2] == "column" and expected is None:
        return f"{subject}: {live} in the database, the migration removes it"
    return (
        f"{subject}: {describe_item(key, live)} in the database, "
        f"{describe_item(key, expected)} in the migration"
    )


def _affected_models(migration: Migration, state: ProjectState) -> set[ModelKey]:
    """Models the migration's operations name, and the models that point at them."""
    names: set[str] = set()
    operations = list(migration.operations)
    for operation in operations:
        operations += getattr(operation, "database_operations", [])
        for attr in ("name_lower", "model_name_lower", "old_name_lower", "new_name_lower"):
            value = getattr(operation, attr, None)
            if isinstance(value, str):
                names.add(value)
    keys = {(migration.app_label, name) for name in names}
    return keys | referencing_models(state, keys)


def _judge(
    before: Items, after: Items, live: Items, accept: set[str]
) -> tuple[Action, list[str], list[str]]:
    changed = [key for key in {*before, *after} if before.get(key) != after.get(key)]
    done: list[ItemKey] = []
    pending: list[ItemKey] = []
    differences: list[str] = []
    accepted: list[str] = []
    missing_tables = {
        key[:2] for key in changed if key[2] == "table" and after.get(key) and key not in live
    }
    for key in sorted(changed):
        want, was, have = after.get(key), before.get(key), live.get(key)
        if (want is None and have is None) or (want is not None and same_item(want, have)):
            done.append(key)
            continue
        if (was is None and have is None) or (was is not None and same_item(was, have)):
            pending.append(key)
            continue
        text = _difference(key, have, want)
        (accepted if _accepted(text, accept) else differences).append(text)
    if pending and (done or differences):
        # Partly there: list what is missing too, not only what is wrong.
        for key in sorted(pending):
            if key[2] != "table" and key[:2] in missing_tables:
                continue
            text = _difference(key, live.get(key), after.get(key))
            (accepted if _accepted(text, accept) else differences).append(text)
    if differences:
        return "refuse", differences, accepted
    if accepted or (done and not pending):
        return "fake", [], accepted
    return "run", [], accepted


def _accepted(text: str, accept: set[str]) -> bool:
    return text in accept or text.split(": ", 1)[0] in accept


def applied_state(executor: MigrationExecutor) -> ProjectState:
    """The project state the applied migrations (as recorded) have built."""
    loader = executor.loader
    state = ProjectState(real_apps=loader.unmigrated_apps)
    applied = {
        loader.graph.nodes[key] for key in loader.applied_migrations if key in loader.graph.nodes
    }
    for migration, _ in executor.migration_plan(loader.graph.leaf_nodes(), clean_start=True):
        if migration in applied:
            migration.mutate_state(state, preserve=False)
    return state


def plan_adoption(
    executor: MigrationExecutor,
    targets: list[tuple[str, str | None]],
    accept: Sequence[str] = (),
) -> list[AdoptionStep]:
    """Decide RUN, FAKE or REFUSE for each migration ``migrate`` would apply to ``targets``.

    Reads the database (the catalog, ``django_migrations``) and changes nothing.
    ``accept`` lists differences (the whole line, or the part before ``": "``)
    to treat as matching; a migration left with only accepted differences is
    faked.
    """
    connection = executor.connection
    plan = executor.migration_plan(targets)
    if any(backwards for _, backwards in plan):
        undo = ", ".join(f"{m.app_label}.{m.name}" for m, backwards in plan if backwards)
        raise ValueError(f"reaching the target would unapply {undo}; use migrate to go back")
    if not plan:
        return []
    catalog = read_catalog(connection)
    live = dict(catalog.items)
    # Never rendered: the items are read from the model states (see db/state.py).
    state = applied_state(executor)
    steps: list[AdoptionStep] = []
    accept_set = set(accept)
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        for migration, _ in plan:
            try:
                keys = _affected_models(migration, state)
                before = state_items(connection, state, keys, catalog, editor)
                state = migration.mutate_state(state, preserve=False)
                keys |= _affected_models(migration, state)
                after = state_items(connection, state, keys, catalog, editor)
            except (LookupError, ValueError, TypeError, AttributeError) as exc:
                # A state Django itself would not render (a relation to a model
                # no migration creates, a field the state lacks): say where.
                raise ValueError(
                    f"{migration.app_label}.{migration.name} leaves a model state that cannot "
                    f"be read ({type(exc).__name__}: {exc}); check that makemigrations has "
                    "nothing left to write for its app"
                ) from exc
            action, differences, accepted = _judge(before, after, live, accept_set)
            steps.append(AdoptionStep(migration, action, differences, accepted))
            if action != "fake":
                # Carry on as if the database now matched the migration's result.
                for key in {*before, *after}:
                    if key in after:
                        live[key] = after[key]
                    else:
                        live.pop(key, None)
    return steps


def unused_acceptances(steps: Sequence[AdoptionStep], accept: Sequence[str]) -> list[str]:
    """The ``accept`` entries that matched no difference (most likely typos)."""
    used = [text for step in steps for text in step.accepted]
    return [entry for entry in accept if not any(_accepted(text, {entry}) for text in used)]


class LockTimeout(Exception):
    """Another safemigrate held the advisory lock for longer than we would wait."""


@contextmanager
def advisory_lock(connection: BaseDatabaseWrapper, timeout: float) -> Iterator[None]:
    """Hold the lock that lets one safemigrate at a time plan and apply on this database.

    PostgreSQL: a session advisory lock. SQLite: an exclusive ``flock`` on a
    lock file in the temporary directory named after the database's path; an
    in-memory database has one connection, so nothing to lock.
    """
    if connection.vendor == "postgresql":
        with _postgresql_lock(connection, timeout):
            yield
    elif connection.vendor == "sqlite":
        with _sqlite_lock(connection, timeout):
            yield
    else:
        yield


def _wait(try_lock: Any, connection: BaseDatabaseWrapper, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not try_lock():
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"another safemigrate has held the lock on database "
                f"{connection.alias!r} for more than {timeout:g}s"
            )
        time.sleep(0.1)


@contextmanager
def _postgresql_lock(connection: BaseDatabaseWrapper, timeout: float) -> Iterator[None]:
    with connection.cursor() as cursor:

        def try_lock() -> bool:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            return bool(cursor.fetchone()[0])

        _wait(try_lock, connection, timeout)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


@contextmanager
def _sqlite_lock(connection: BaseDatabaseWrapper, timeout: float) -> Iterator[None]:
    name = str(connection.settings_dict["NAME"])
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking only
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or name in ("", ":memory:") or name.startswith("file:"):
        yield
        return
    # Beside the other locks of this machine, not the database: nothing is
    # written next to the user's files (SQLite is one host's database anyway).
    digest = hashlib.sha256(os.path.abspath(name).encode()).hexdigest()[:16]
    lock_path = os.path.join(tempfile.gettempdir(), f"strangler-safemigrate-{digest}.lock")
    with open(lock_path, "a") as handle:

        def try_lock() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait(try_lock, connection, timeout)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apply_adoption(
    executor: MigrationExecutor,
    steps: Sequence[AdoptionStep],
    progress: Any = None,
) -> ProjectState:
    """Fake the FAKE steps and run the RUN steps, in order, in one transaction.

    Refuses (``ValueError``) a plan with a REFUSE step, before touching anything.
    When every migration is atomic and the database can roll back DDL, a
    failure part-way undoes the migrations already run or faked.
    """
    refused = [step.label for step in steps if step.action == "refuse"]
    if refused:
        raise ValueError(f"the plan refuses {', '.join(refused)}")
    connection = executor.connection
    executor.recorder.ensure_schema()
    state = applied_state(executor)
    all_atomic = connection.features.can_rollback_ddl and all(
        step.migration.atomic for step in steps
    )
    # SQLite can only stop enforcing foreign keys (which its schema editor
    # needs) outside a transaction: before the one that holds every step.
    sqlite_checks_off = connection.vendor == "sqlite" and all_atomic
    if sqlite_checks_off:
        connection.disable_constraint_checking()
    try:
        with transaction.atomic(using=connection.alias) if all_atomic else _nothing():
            state = _apply_steps(executor, steps, state, progress)
    finally:
        if sqlite_checks_off:
            connection.enable_constraint_checking()
    return state


def _apply_steps(
    executor: MigrationExecutor, steps: Sequence[AdoptionStep], state: ProjectState, progress: Any
) -> ProjectState:
    for step in steps:
        if progress is not None:
            progress(step)
        if step.action == "fake":
            executor.apply_migration(state, step.migration, fake=True)
            # Unrendered, this is cheap; rendered, every operation re-renders
            # the related models, which is what makes adopting hundreds of
            # chained tables slow. So render only when a RUN needs models.
            state = step.migration.mutate_state(state, preserve=False)
        else:
            state.apps  # render (once: later steps keep it current)  # noqa: B018
            state = executor.apply_migration(state, step.migration)
    return state


@contextmanager
def _nothing() -> Iterator[None]:
    yield
