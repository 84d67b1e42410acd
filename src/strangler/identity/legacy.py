"""The Flask app's own users table, read by Django: legacy users become Django users.

Real Flask apps keep their users in their own table (``user``: id, username,
email, a Werkzeug password hash), which Django's ``auth_user`` knows nothing
about. With ``STRANGLER["IDENTITY"]["LEGACY_USERS"]`` describing that table:

* ``LegacyUserBackend`` logs a legacy user into Django with the password they
  have: on their first login it finds the row, checks the Werkzeug hash
  (``hashers.WerkzeugPasswordHasher``), creates the Django user (username and
  email copied, the legacy hash kept as ``werkzeug$...``), and Django's own
  ``check_password`` then upgrades the hash to Django's preferred hasher.
  From then on the Django user is an ordinary one (``ModelBackend``).
* ``manage.py strangler_import_users`` creates every Django user at once,
  the same way, for a team that prefers to import before the switch.
* ``user_for_legacy_id`` maps the id Flask-Login keeps in Flask's session
  to the Django user, for the cut-over (``FLASK_SESSION["USER"]``).

The table is read with plain SQL through a Django connection and never
written: the Flask app keeps owning it while it still runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.db import DataError, IntegrityError, connections, transaction
from django.http import HttpRequest

from ..conf import LEGACY_USERS_DEFAULTS, get_conf
from .hashers import LegacyHashError, split_werkzeug_hash, to_django_password

logger = logging.getLogger("strangler.identity")

BACKEND_PATH = "strangler.identity.legacy.LegacyUserBackend"
LOGIN_FIELDS = ("username", "email")


class LegacyUsersNotConfigured(LookupError):
    """``STRANGLER["IDENTITY"]["LEGACY_USERS"]`` is not set."""


@dataclass(frozen=True)
class LegacyUser:
    """One row of the legacy users table."""

    id: Any
    username: str | None
    email: str | None
    password_hash: str | None
    active: bool

    @property
    def django_username(self) -> str | None:
        """The Django username this user gets: the legacy username, else the email."""
        return self.username or self.email or None


def legacy_users_conf() -> dict[str, Any]:
    """``LEGACY_USERS`` over its defaults; raises ``LegacyUsersNotConfigured`` when unset."""
    value = get_conf()["IDENTITY"].get("LEGACY_USERS")
    if not isinstance(value, dict):
        raise LegacyUsersNotConfigured(
            'STRANGLER["IDENTITY"]["LEGACY_USERS"] is not set (docs/identity.md, '
            '"A separate users table")'
        )
    return {**LEGACY_USERS_DEFAULTS, **value}


def _select(conf: dict[str, Any], where: str | None = None) -> tuple[Any, str]:
    connection = connections[conf["DATABASE"]]
    quote = connection.ops.quote_name
    table = ".".join(quote(part) for part in str(conf["TABLE"]).split("."))
    columns = ", ".join(
        quote(conf[name]) if conf[name] else "NULL"
        for name in ("ID", "USERNAME", "EMAIL", "PASSWORD", "ACTIVE")
    )
    sql = f"SELECT {columns} FROM {table}"  # noqa: S608  (identifiers quoted, values bound)
    if where is not None:
        sql += f" WHERE {quote(where)} = %s"
    return connection, sql


def _row_to_user(row: tuple[Any, ...], conf: dict[str, Any]) -> LegacyUser:
    user_id, username, email, password_hash, active = row
    return LegacyUser(
        id=user_id,
        username=username,
        email=email,
        password_hash=password_hash,
        active=bool(active) if conf["ACTIVE"] else True,
    )


def find_legacy_user(column: str, value: Any) -> LegacyUser | None:
    """The one legacy user whose ``column`` (``"ID"``, ``"USERNAME"``, ``"EMAIL"``) is ``value``.

    None when there is none, or more than one (an email shared by two rows
    names nobody).
    """
    conf = legacy_users_conf()
    name = conf[column]
    if not name or value in (None, ""):
        return None
    connection, sql = _select(conf, where=name)
    try:
        # A savepoint: a value the column's type refuses (an id that is not a
        # number) must not break the request's transaction.
        with transaction.atomic(using=conf["DATABASE"]), connection.cursor() as cursor:
            cursor.execute(sql, [value])
            rows = cursor.fetchmany(2)
    except DataError:
        return None
    if len(rows) != 1:
        if rows:
            logger.warning("legacy users: %s %r names %s rows, so nobody", name, value, "several")
        return None
    return _row_to_user(rows[0], conf)


def all_legacy_users() -> list[LegacyUser]:
    """Every row of the legacy users table (for the import command)."""
    conf = legacy_users_conf()
    connection, sql = _select(conf)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [_row_to_user(row, conf) for row in cursor.fetchall()]


def django_password_for(legacy: LegacyUser, model: Any) -> str:
    """The legacy hash as Django stores it (``werkzeug$...``), else an unusable password.

    Unusable when the row has no Werkzeug hash, or when the hash (unusual
    parameters, a sha512 digest) does not fit the user model's password
    column; such a user logs in through ``LegacyUserBackend`` instead.
    """
    if legacy.password_hash:
        try:
            encoded = to_django_password(legacy.password_hash)
        except LegacyHashError:
            encoded = ""
        max_length = model._meta.get_field("password").max_length
        if encoded and (max_length is None or len(encoded) <= max_length):
            return encoded
    return make_password(None)


def _username_field() -> str:
    return str(get_user_model().USERNAME_FIELD)


def django_user_for(legacy: LegacyUser, *, create: bool = True) -> Any:
    """The Django user for ``legacy`` (same username), created from the row when missing.

    A created user keeps the legacy hash as ``werkzeug$<hash>`` (so the
    password they have works, and is upgraded on their first login), or
    gets an unusable password when the row has no Werkzeug hash.
    """
    model = get_user_model()
    username = legacy.django_username
    if not username:
        return None
    by_username = {_username_field(): username}
    manager = model._default_manager
    existing = manager.filter(**by_username).first()
    if existing is not None or not create:
        return existing
    user = model(**by_username)
    email_field = model.get_email_field_name()
    if legacy.email and hasattr(user, email_field):
        setattr(user, email_field, legacy.email)
    if hasattr(user, "is_active"):
        user.is_active = legacy.active
    user.password = django_password_for(legacy, model)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent first login created it
        return manager.filter(**by_username).first()
    logger.info("legacy users: Django user %r created from legacy id %r", username, legacy.id)
    return user


class LegacyUserBackend(ModelBackend):
    """Logs legacy users in with their Werkzeug password; goes after ``ModelBackend``.

    Only users without a Django account are its concern: once the Django
    user exists (created here on the first login), ``ModelBackend`` checks
    the password, and the legacy row is not read again.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """The Django user for a legacy login whose password matches, else None."""
        model = get_user_model()
        if username is None:
            username = kwargs.get(_username_field())
        if not username or password is None:
            return None
        if model._default_manager.filter(**{_username_field(): username}).exists():
            return None  # a Django user already: ModelBackend's answer stands
        conf = legacy_users_conf()
        legacy = find_legacy_user(conf["LOGIN_FIELD"].upper(), username)
        if legacy is None or not legacy.password_hash or not legacy.active:
            # As ModelBackend does: spend a hash's time, so a missing user
            # cannot be told from a wrong password by the clock.
            model().set_password(password)
            return None
        try:
            from werkzeug.security import check_password_hash

            split_werkzeug_hash(legacy.password_hash)  # method and cost limits first
        except (ImportError, LegacyHashError) as exc:
            logger.warning("legacy users: hash of %r not checked: %s", username, exc)
            return None
        if not check_password_hash(legacy.password_hash, password):
            return None
        user = django_user_for(legacy)
        if user is None:
            return None
        # The legacy hash is replaced by Django's preferred one, as Django
        # does on login for its own outdated hashers.
        user.set_password(password)
        user.save(update_fields=["password"])
        return user if self.user_can_authenticate(user) else None


def user_for_legacy_id(flask_user_id: str) -> Any:
    """The cut-over's mapping (``FLASK_SESSION["USER"]``): Flask-Login's id → the Django user.

    Finds the legacy row by its id, then the Django user of the same
    username, created from the row when missing (so a Flask-only user keeps
    their session on the day Django takes over login).
    """
    value: Any = int(flask_user_id) if flask_user_id.isdigit() else flask_user_id
    legacy = find_legacy_user("ID", value)
    if legacy is None or not legacy.active:
        return None
    return django_user_for(legacy)
