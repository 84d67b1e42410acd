"""The Flask-side loader for a separate users table (strangler/identity/flask_users.py).

The app is a Flask-SQLAlchemy app on a SQLite file SQLAlchemy made, with its
own ``user`` table whose ids are not Django's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from strangler.identity.tokens import TokenSigner
from tests.identity.conftest import KeyPair
from tests.identity.legacy_users import User, add_user, create_app
from tests.identity.legacy_users import db as users_db

HEADER = "X-Strangler-Identity-Token"
CHEAP = "scrypt:1024:8:1"


@pytest.fixture
def app_on_sqlite(tmp_path: Path, ed_keys: KeyPair) -> Iterator[Any]:
    def make(**config: Any) -> Flask:
        app = create_app(
            f"sqlite:///{tmp_path / 'legacy.db'}",
            STRANGLER_VERIFYING_KEYS=[ed_keys.public],
            **config,
        )
        with app.app_context():
            users_db.create_all()
        made.append(app)
        return app

    made: list[Flask] = []
    yield make
    for app in made:
        with app.app_context():
            users_db.engine.dispose()


def account_of(app: Flask, signer: TokenSigner, claims: dict[str, Any]) -> Any:
    token = signer.mint(claims, method="GET", target="/whoami")
    return app.test_client().get("/whoami", headers={HEADER: token}).get_json()["username"]


# Django's ids (sub) are not the legacy table's.
GRACE = {"sub": "501", "username": "grace", "email": "grace@example.com"}


@pytest.mark.parametrize(
    ("lookup", "column", "claims", "expected"),
    [
        ("username", None, GRACE, "grace"),
        ("username", None, {**GRACE, "username": "Grace"}, None),
        ("email", None, GRACE, "grace"),
        ("email", None, {**GRACE, "email": ""}, None),
        ("id", None, {**GRACE, "sub": "1"}, "grace"),
        ("id", None, GRACE, None),
        ("id", None, {**GRACE, "sub": "1 OR 1=1"}, None),
        ("username", "email", {**GRACE, "username": "grace@example.com"}, "grace"),
    ],
)
def test_the_apps_user_is_found_by_the_configured_field(
    app_on_sqlite: Any,
    signer: TokenSigner,
    lookup: str,
    column: str | None,
    claims: dict[str, Any],
    expected: str | None,
) -> None:
    app = app_on_sqlite(
        STRANGLER_USER_MODEL=User, STRANGLER_USER_LOOKUP=lookup, STRANGLER_USER_COLUMN=column
    )
    legacy = add_user(
        app, "grace", generate_password_hash("pw", method=CHEAP), email="grace@example.com"
    )
    assert legacy.id == 1
    add_user(app, "ada", generate_password_hash("pw", method=CHEAP), email="ada@example.com")
    assert account_of(app, signer, claims) == expected


def test_a_value_two_users_share_finds_nobody(app_on_sqlite: Any, signer: TokenSigner) -> None:
    app = app_on_sqlite(STRANGLER_USER_MODEL=User, STRANGLER_USER_LOOKUP="email")
    add_user(app, "grace", "x", email="shared@example.com")
    add_user(app, "grace2", "x", email="shared@example.com")
    assert account_of(app, signer, {**GRACE, "email": "shared@example.com"}) is None


def test_the_model_can_be_an_import_path(app_on_sqlite: Any, signer: TokenSigner) -> None:
    app = app_on_sqlite(STRANGLER_USER_MODEL="tests.identity.legacy_users:User")
    add_user(app, "grace", "x")
    assert account_of(app, signer, GRACE) == "grace"


def test_without_a_model_flask_logins_loader_gets_djangos_id(
    app_on_sqlite: Any, signer: TokenSigner
) -> None:
    app = app_on_sqlite()  # a shared users table: Django's id is Flask's
    add_user(app, "grace", "x")
    assert account_of(app, signer, GRACE) is None  # 501 is nobody here
    assert account_of(app, signer, {**GRACE, "sub": "1"}) == "grace"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"STRANGLER_USER_LOOKUP": "name"}, "STRANGLER_USER_LOOKUP must be one of"),
        ({"STRANGLER_USER_MODEL": User, "STRANGLER_USER_COLUMN": "login"}, "no attribute 'login'"),
    ],
)
def test_an_unusable_configuration_fails_at_init_app(
    app_on_sqlite: Any, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        app_on_sqlite(**config)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "tests.identity.legacy_users:Nope",
            "'tests.identity.legacy_users:Nope' cannot be imported",
        ),
        ("tests.identity.no_such_module:User", "cannot be imported"),
        ("tests.identity.legacy_users.User", "is not 'package.module:Class'"),
    ],
)
def test_a_model_path_that_does_not_import_fails_at_init_app(
    app_on_sqlite: Any, model: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        app_on_sqlite(STRANGLER_USER_MODEL=model)
