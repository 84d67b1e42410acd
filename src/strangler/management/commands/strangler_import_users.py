"""``manage.py strangler_import_users``: a Django user for every user of the Flask app's table."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hashers_by_algorithm
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from strangler.identity.hashers import WerkzeugPasswordHasher
from strangler.identity.legacy import (
    LegacyUsersNotConfigured,
    all_legacy_users,
    django_password_for,
    django_user_for,
    legacy_users_conf,
)


class Command(BaseCommand):
    help = (
        "Create a Django user for every user in the Flask app's own users table "
        "(STRANGLER['IDENTITY']['LEGACY_USERS']), matched by username (or email where the "
        "table has no username). Each keeps the password they have: the Werkzeug hash is "
        "stored as werkzeug$<hash> and Django replaces it with its own hasher's on the "
        "user's first login (needs strangler.identity.hashers.WerkzeugPasswordHasher in "
        "PASSWORD_HASHERS, after Django's). Django users that already exist are left as "
        "they are, so it can be run again; the legacy table is only read. A user whose row "
        "has no password hash gets an unusable password (a password reset sets one); a "
        "user whose hash is too long for Django's password column (unusual scrypt "
        "parameters, sha512) is skipped, for LegacyUserBackend to create at first login. "
        "Instead of importing, LegacyUserBackend can create each user on their first login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be created, create nothing.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print {"created": [...], "existing": [...], "skipped": [{"id", "reason"}], '
            '"without_password": [...]} (usernames).',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            conf = legacy_users_conf()
        except LegacyUsersNotConfigured as exc:
            raise CommandError(str(exc)) from None
        if WerkzeugPasswordHasher.algorithm not in get_hashers_by_algorithm():
            raise CommandError(
                "Add 'strangler.identity.hashers.WerkzeugPasswordHasher' to PASSWORD_HASHERS "
                "(after Django's hashers) first, or imported users could not log in."
            )
        try:
            legacy_users = all_legacy_users()
        except DatabaseError as exc:
            raise CommandError(
                f"The legacy users table {conf['TABLE']!r} (database {conf['DATABASE']!r}) "
                f"cannot be read: {exc}. Check LEGACY_USERS' TABLE and column names."
            ) from None
        created: list[str] = []
        existing: list[str] = []
        skipped: list[dict[str, Any]] = []
        without_password: list[str] = []
        for legacy in legacy_users:
            username = legacy.django_username
            if not username:
                skipped.append({"id": legacy.id, "reason": "no username and no email"})
                continue
            if django_user_for(legacy, create=False) is not None:
                existing.append(username)
                continue
            if not django_password_for(legacy, get_user_model()).startswith("werkzeug$"):
                if legacy.password_hash:
                    # Creating them without it would lock them out: LegacyUserBackend
                    # logs in only users with no Django account yet.
                    skipped.append(
                        {
                            "id": legacy.id,
                            "reason": "its hash does not fit Django's password column; "
                            "LegacyUserBackend logs them in on their first login",
                        }
                    )
                    continue
                without_password.append(username)  # created, with an unusable password
            if not options["dry_run"]:
                django_user_for(legacy)
            created.append(username)
        if options["json"]:
            document = {
                "created": created,
                "existing": existing,
                "skipped": skipped,
                "without_password": without_password,
            }
            self.stdout.write(json.dumps(document, indent=2, default=str))
            return
        verb = "would be created" if options["dry_run"] else "created"
        self.stdout.write(
            f"{len(created)} Django users {verb}, {len(existing)} already existed, "
            f"{len(skipped)} skipped."
        )
        for entry in skipped:
            self.stdout.write(f"  skipped legacy id {entry['id']}: {entry['reason']}")
        for username in without_password:
            self.stdout.write(
                f"  {username}: no Werkzeug hash in the table, so an unusable password "
                f"(they reset it)"
            )
