"""``manage.py safemigrate``: migrate a database whose tables Alembic may already have built."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.management import BaseCommand, CommandError, CommandParser
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.exceptions import AmbiguityError, InconsistentMigrationHistory
from django.db.migrations.executor import MigrationExecutor

from ...db.adoption import (
    AdoptionStep,
    LockTimeout,
    advisory_lock,
    apply_adoption,
    plan_adoption,
    unused_acceptances,
)


class Command(BaseCommand):
    help = (
        "Apply migrations to a database that Alembic (or anyone) may already have partly "
        "built. Each unapplied migration is compared with the live catalog by (schema, table): "
        "RUN if nothing it creates exists, FAKE if everything it creates exists and matches "
        "(columns with type, nullability and default; primary, foreign and unique keys; "
        "indexes by their columns), REFUSE otherwise, listing each difference. Nothing is "
        "applied unless no migration is refused; then FAKE and RUN steps are applied in order "
        "in one transaction, under a lock so two deploys cannot race. PostgreSQL and "
        "SQLite (schemas as attached files, with strangler.db.backends.sqlite3)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "app_label", nargs="?", help="Only this app's migrations (default: every app)."
        )
        parser.add_argument(
            "migration_name",
            nargs="?",
            help="Stop at this migration of APP_LABEL (a unique prefix is enough).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            choices=tuple(connections),
            help='The database to migrate (default: "default"). Routers are honoured.',
        )
        parser.add_argument(
            "--plan",
            action="store_true",
            help="Show what would be done (RUN, FAKE or REFUSE and why) and change nothing.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='With --plan: print {"migrations": [{"app", "name", "action", "differences"}]}.',
        )
        parser.add_argument(
            "--accept",
            action="append",
            default=[],
            metavar="DIFFERENCE",
            help=(
                "Treat this known difference as a match (repeatable). Give the line as "
                "--plan prints it, or its subject before the colon, e.g. "
                "'labs.sample.name'. A migration left with only accepted differences is "
                "faked. An entry that matches nothing is an error."
            ),
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=600.0,
            metavar="SECONDS",
            help="How long to wait for another safemigrate on the same database (600).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database: str = options["database"]
        connection = connections[database]
        if connection.vendor not in ("postgresql", "sqlite"):
            raise CommandError(
                f"safemigrate compares migrations with the catalog of PostgreSQL or SQLite; "
                f"database {database!r} is {connection.vendor}. Use migrate there."
            )
        if options["json"] and not options["plan"]:
            raise CommandError("--json only goes with --plan.")
        if options["lock_timeout"] <= 0:
            raise CommandError("--lock-timeout must be a positive number of seconds.")
        accept: list[str] = options["accept"]
        if options["plan"]:
            executor = MigrationExecutor(connection)
            steps = self._plan(executor, options, accept)
            self._report(steps, as_json=options["json"])
            return
        try:
            with advisory_lock(connection, options["lock_timeout"]):
                # Planned only once the lock is held: a deploy that waited sees
                # what the one before it did.
                executor = MigrationExecutor(connection)
                steps = self._plan(executor, options, accept)
                self._apply(executor, steps, options)
        except LockTimeout as exc:
            raise CommandError(f"{exc}; nothing was applied.") from None

    def _targets(
        self, executor: MigrationExecutor, app_label: str | None, name: str | None
    ) -> list[tuple[str, str | None]]:
        loader = executor.loader
        if app_label is None:
            return list(loader.graph.leaf_nodes())
        try:
            apps.get_app_config(app_label)
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        if app_label not in loader.migrated_apps:
            raise CommandError(f"App {app_label!r} does not have migrations.")
        if name is None:
            return [key for key in loader.graph.leaf_nodes() if key[0] == app_label]
        if name == "zero":
            raise CommandError("safemigrate only goes forwards; use migrate to unapply.")
        try:
            migration = loader.get_migration_by_prefix(app_label, name)
        except AmbiguityError:
            raise CommandError(
                f"More than one migration matches {name!r} in app {app_label!r}. "
                "Please be more specific."
            ) from None
        except KeyError:
            raise CommandError(
                f"Cannot find a migration matching {name!r} from app {app_label!r}."
            ) from None
        return [(app_label, migration.name)]

    def _plan(
        self, executor: MigrationExecutor, options: dict[str, Any], accept: list[str]
    ) -> list[AdoptionStep]:
        try:
            executor.loader.check_consistent_history(executor.connection)
        except InconsistentMigrationHistory as exc:
            raise CommandError(f"{exc}; fix django_migrations before adopting.") from None
        conflicts = executor.loader.detect_conflicts()
        if conflicts:
            names = "; ".join(f"{app}: {', '.join(names)}" for app, names in conflicts.items())
            raise CommandError(
                f"Conflicting migrations ({names}); merge them with makemigrations --merge."
            )
        targets = self._targets(executor, options["app_label"], options["migration_name"])
        try:
            steps = plan_adoption(executor, targets, accept)
        except ValueError as exc:
            raise CommandError(f"safemigrate cannot plan this: {exc}.") from None
        unused = unused_acceptances(steps, accept)
        if unused:
            raise CommandError(
                "--accept matched no difference in the plan: "
                + "; ".join(repr(entry) for entry in unused)
                + ". Copy the line (or its part before the colon) from --plan."
            )
        return steps

    def _report(self, steps: list[AdoptionStep], *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"migrations": [step.as_json() for step in steps]}))
            return
        if not steps:
            self.stdout.write("No migrations to apply.")
            return
        width = max(len(step.label) for step in steps)
        for step in steps:
            style = {
                "run": self.style.MIGRATE_LABEL,
                "fake": self.style.SUCCESS,
                "refuse": self.style.ERROR,
            }[step.action]
            self.stdout.write(f"  {step.label:<{width}}  {style(step.action.upper())}")
            for text in step.differences:
                self.stdout.write(f"      {text}")
            for text in step.accepted:
                self.stdout.write(f"      accepted: {text}")

    def _apply(
        self, executor: MigrationExecutor, steps: list[AdoptionStep], options: dict[str, Any]
    ) -> None:
        verbosity: int = options["verbosity"]
        database: str = options["database"]
        if not steps:
            if verbosity:
                self.stdout.write("No migrations to apply.")
            return
        refused = [step for step in steps if step.action == "refuse"]
        if refused:
            self._report(steps, as_json=False)
            raise CommandError(
                f"safemigrate refused {', '.join(step.label for step in refused)}: the "
                "database does not match and was left unchanged. Fix the database or the "
                "migration, or --accept the listed differences."
            )
        plan = [(step.migration, False) for step in steps]
        emit_pre_migrate_signal(verbosity, False, database, plan=plan)

        def progress(step: AdoptionStep) -> None:
            if verbosity:
                verb = "Faking" if step.action == "fake" else "Applying"
                self.stdout.write(f"  {verb} {step.label}...")

        state = apply_adoption(executor, steps, progress)
        state.clear_delayed_apps_cache()
        emit_post_migrate_signal(verbosity, False, database, apps=state.apps, plan=plan)
        if verbosity:
            faked = sum(step.action == "fake" for step in steps)
            self.stdout.write(
                self.style.SUCCESS(f"Applied {len(steps) - faked}, faked {faked} migration(s).")
            )
