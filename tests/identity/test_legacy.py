"""The Flask app's own users table (strangler/identity/legacy.py and strangler_import_users).

The table is the one a Flask-SQLAlchemy app made (tests/identity/legacy_users.py)
in PostgreSQL, its hashes made by Werkzeug's ``generate_password_hash``.
"""

from __future__ import annotations

import json
import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from flask import Flask
from werkzeug.security import check_password_hash, generate_password_hash

from strangler.identity.legacy import BACKEND_PATH, user_for_legacy_id
from tests.identity.conftest import Live, send
from tests.identity.legacy_users import User, add_user
from tests.identity.legacy_users import db as users_db

WERKZEUG = "strangler.identity.hashers.WerkzeugPasswordHasher"
CHEAP = "scrypt:1024:8:1"  # a real Werkzeug scrypt hash, cheap enough for many tests

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy_on(settings: Any, legacy_users: Flask) -> Flask:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {"LEGACY_USERS": {"TABLE": "user", "ACTIVE": "active"}},
    }
    # MD5 first only to keep the tests fast; the live test below uses PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", WERKZEUG]
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", BACKEND_PATH]
    return legacy_users


def legacy_hash_of(app: Flask, username: str) -> str:
    with app.app_context():
        user = users_db.session.execute(
            users_db.select(User).filter_by(username=username)
        ).scalar_one()
        return str(user.password_hash)


def test_first_login_creates_the_django_user_and_upgrades_the_hash(
    legacy_on: Flask, django_user_model: Any
) -> None:
    legacy_hash = generate_password_hash("legacy pass", method=CHEAP)
    add_user(legacy_on, "grace", legacy_hash, email="grace@legacy.example")
    user = authenticate(username="grace", password="legacy pass")
    assert user is not None
    stored = django_user_model.objects.get(username="grace")
    assert stored.email == "grace@legacy.example"
    assert stored.password.startswith("md5$")  # Django's preferred hasher now
    assert stored.check_password("legacy pass")
    # The legacy table is only read: Flask's own login keeps working.
    assert legacy_hash_of(legacy_on, "grace") == legacy_hash
    # From now on the Django user is an ordinary one (ModelBackend).
    assert authenticate(username="grace", password="legacy pass") == stored
    assert authenticate(username="grace", password="wrong") is None


@pytest.mark.parametrize(
    ("fields", "password"),
    [
        ({}, "wrong"),
        ({}, ""),
        ({"active": False}, "legacy pass"),
        ({"password_hash": "md5$salt$whatever"}, "legacy pass"),
        ({"password_hash": "scrypt:1048576:8:1$salt$00"}, "legacy pass"),
    ],
)
def test_no_user_is_created_without_a_good_login(
    legacy_on: Flask, django_user_model: Any, fields: dict[str, Any], password: str
) -> None:
    legacy_hash = fields.pop("password_hash", generate_password_hash("legacy pass", method=CHEAP))
    add_user(legacy_on, "grace", legacy_hash, **fields)
    assert authenticate(username="grace", password=password) is None
    assert not django_user_model.objects.filter(username="grace").exists()


def test_an_unknown_user_is_nobody(legacy_on: Flask, django_user_model: Any) -> None:
    assert authenticate(username="nobody", password="x") is None
    assert authenticate(username='\'; DROP TABLE "user"; --', password="x") is None
    assert not django_user_model.objects.exists()


def test_a_django_user_is_never_taken_over_by_a_legacy_row(
    legacy_on: Flask, django_user_model: Any
) -> None:
    # A Django account "grace" exists: the legacy row's password must not open it.
    django_user_model.objects.create_user("grace", password="django pass")
    add_user(legacy_on, "grace", generate_password_hash("legacy pass", method=CHEAP))
    assert authenticate(username="grace", password="legacy pass") is None
    assert authenticate(username="grace", password="django pass") is not None


def test_login_by_email(legacy_on: Flask, settings: Any, django_user_model: Any) -> None:
    legacy = settings.STRANGLER["IDENTITY"]["LEGACY_USERS"]
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {"LEGACY_USERS": {**legacy, "LOGIN_FIELD": "email"}},
    }
    add_user(
        legacy_on, "grace", generate_password_hash("pw", method=CHEAP), email="g@legacy.example"
    )
    user = authenticate(username="g@legacy.example", password="pw")
    assert user is not None
    assert user.get_username() == "grace"


def test_an_email_shared_by_two_rows_names_nobody(
    legacy_on: Flask, settings: Any, django_user_model: Any
) -> None:
    legacy = settings.STRANGLER["IDENTITY"]["LEGACY_USERS"]
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {"LEGACY_USERS": {**legacy, "LOGIN_FIELD": "email"}},
    }
    # Legacy tables seldom make emails unique; whose password would count?
    for name in ("grace", "grace2"):
        add_user(
            legacy_on, name, generate_password_hash("pw", method=CHEAP), email="g@legacy.example"
        )
    assert authenticate(username="g@legacy.example", password="pw") is None
    assert not django_user_model.objects.exists()


def test_the_cutover_maps_flasks_id_through_the_legacy_table(
    legacy_on: Flask, django_user_model: Any
) -> None:
    legacy = add_user(legacy_on, "grace", generate_password_hash("pw", method=CHEAP))
    user = user_for_legacy_id(str(legacy.id))
    assert user is not None
    assert user.username == "grace"
    assert user.check_password("pw")  # the legacy hash came along
    assert user_for_legacy_id(str(legacy.id)) == user  # found, not created twice
    assert user_for_legacy_id("999999") is None
    assert user_for_legacy_id("not a number") is None


def test_the_import_command_creates_each_user_once(
    legacy_on: Flask, django_user_model: Any
) -> None:
    add_user(legacy_on, "grace", generate_password_hash("pw", method=CHEAP))
    add_user(legacy_on, "linus", generate_password_hash("pw2", method="pbkdf2:sha256:1000"))
    add_user(legacy_on, "nohash", "")
    add_user(legacy_on, "long", generate_password_hash("pw3", method="pbkdf2:sha512:1000"))
    django_user_model.objects.create_user("linus", password="already here")

    out = StringIO()
    call_command("strangler_import_users", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == ["grace", "nohash"]
    assert not django_user_model.objects.filter(username="grace").exists()

    out = StringIO()
    call_command("strangler_import_users", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert sorted(report["created"]) == ["grace", "nohash"]
    assert report["existing"] == ["linus"]
    assert report["without_password"] == ["nohash"]
    assert [entry["reason"][:19] for entry in report["skipped"]] == ["its hash does not f"]
    assert django_user_model.objects.get(username="grace").password.startswith("werkzeug$")
    assert not django_user_model.objects.get(username="nohash").has_usable_password()
    assert django_user_model.objects.get(username="linus").check_password("already here")
    assert authenticate(username="grace", password="pw") is not None  # and upgraded
    assert django_user_model.objects.get(username="grace").password.startswith("md5$")

    out = StringIO()
    call_command("strangler_import_users", stdout=out)
    assert out.getvalue().startswith("0 Django users created, 3 already existed, 1 skipped")
    # The skipped user logs in all the same, through the backend, from the legacy row.
    assert authenticate(username="long", password="pw3") is not None


def test_the_import_command_says_what_is_missing(settings: Any, legacy_users: Flask) -> None:
    with pytest.raises(CommandError, match="LEGACY_USERS"):
        call_command("strangler_import_users")
    settings.STRANGLER = {**settings.STRANGLER, "IDENTITY": {"LEGACY_USERS": {"TABLE": "user"}}}
    with pytest.raises(CommandError, match="WerkzeugPasswordHasher"):
        call_command("strangler_import_users")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", WERKZEUG]
    settings.STRANGLER = {**settings.STRANGLER, "IDENTITY": {"LEGACY_USERS": {"TABLE": "users"}}}
    with pytest.raises(CommandError, match=r"'users'.* cannot be read"):
        call_command("strangler_import_users")


# --- end to end: Django's login page through a live front, then Flask -------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256:600000"])
def test_a_legacy_user_logs_in_on_django_and_is_current_user_on_flask(
    live: Live, legacy_users: Flask, django_user_model: Any, method: str
) -> None:
    # Werkzeug's own defaults: scrypt (3.x) and pbkdf2 (2.3's 600,000 iterations).
    legacy_hash = generate_password_hash("legacy pass", method=method)
    add_user(legacy_users, "grace", legacy_hash)
    front = live.front.url

    response, cookies = send(front, "GET", "/accounts/login/?next=/account", {})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.data)
    assert token is not None
    form = {
        "csrfmiddlewaretoken": token.group(1).decode(),
        "username": "grace",
        "password": "legacy pass",
        "next": "/account",
    }
    response, cookies = send(
        front,
        "POST",
        "/accounts/login/",
        {"csrftoken": cookies["csrftoken"]},
        fields=form,
        encode_multipart=False,
        headers={"Referer": front + "/accounts/login/"},
    )
    assert response.status == 302, response.data[:500]
    assert response.headers["Location"] == "/account"
    # Flask's current_user is the legacy user, found by the username Django vouches for.
    response, _ = send(front, "GET", "/account", {"sessionid": cookies["sessionid"]})
    assert response.json() == {"account": "grace"}
    # The hash was upgraded to Django's preferred hasher; Flask's row is untouched.
    grace = django_user_model.objects.get(username="grace")
    assert grace.password.startswith("pbkdf2_sha256$")
    assert legacy_hash_of(legacy_users, "grace") == legacy_hash
    assert check_password_hash(legacy_hash, "legacy pass")
