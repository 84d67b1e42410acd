"""Keys and token helpers shared by the identity tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import urllib3
from flask import Flask

from strangler.identity.tokens import (
    TokenSigner,
    TokenVerifier,
    generate_key_pair,
    load_signing_key,
    load_verifying_key,
)
from tests.conftest import Front, start_front
from tests.identity.legacy_users import User
from tests.identity.legacy_users import create_app as create_users_app
from tests.identity.legacy_users import db as users_db
from tests.upstream import RunningServer, serve


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    private: str
    public: str
    kid: str


@pytest.fixture(scope="session")
def ed_keys() -> KeyPair:
    return KeyPair("EdDSA", *generate_key_pair("EdDSA"))


@pytest.fixture(scope="session")
def other_ed_keys() -> KeyPair:
    return KeyPair("EdDSA", *generate_key_pair("EdDSA"))


@pytest.fixture
def signer(ed_keys: KeyPair) -> TokenSigner:
    return TokenSigner(
        load_signing_key("EdDSA", ed_keys.private),
        issuer="django",
        audience="flask",
        lifetime=60,
    )


@pytest.fixture
def verifier(ed_keys: KeyPair) -> TokenVerifier:
    return TokenVerifier(
        [load_verifying_key(ed_keys.public)],
        algorithms=["EdDSA"],
        issuer="django",
        audience="flask",
    )


def sqlalchemy_url_of_test_database() -> str:
    """The Django test database as a SQLAlchemy URL, for the legacy Flask apps."""
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgresql+psycopg://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def django_database_url() -> str:
    """The Django test database as DATABASE_URL, for a live front in a subprocess."""
    return sqlalchemy_url_of_test_database().replace("postgresql+psycopg://", "postgres://")


# --- a Flask-Login app with its own users table, and a live front before it ---------------

LIVE_FLASK_SECRET = "live-legacy-secret-" + "x" * 20


@dataclass
class Live:
    """The legacy users app on a real server, and Django (gunicorn) in front of it."""

    app: Flask
    flask: RunningServer
    front: Front
    signing_key: str

    def flask_session(self, cookie: str) -> Any:
        """What Flask's session cookie holds, read with Flask's own serializer."""
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        return serializer.loads(cookie)


@pytest.fixture(scope="session")
def live(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Live]:
    """tests/identity/legacy_users.py behind a gunicorn front (tests/identity/live_settings.py).

    Both use the Django test database: tests that need the front to see their
    rows are ``django_db(transaction=True)``.
    """
    private, public, _ = generate_key_pair("EdDSA")
    app = create_users_app(
        sqlalchemy_url_of_test_database(),
        SECRET_KEY=LIVE_FLASK_SECRET,
        STRANGLER_VERIFYING_KEYS=[public],
        STRANGLER_USER_MODEL=User,
        STRANGLER_LOGIN_URL="/accounts/login/",
    )
    with app.app_context():
        users_db.create_all()
    server = serve(app)
    front = start_front(
        server.url,
        {
            "DJANGO_SETTINGS_MODULE": "tests.identity.live_settings",
            "STRANGLER_TEST_SIGNING_KEY": private,
            "STRANGLER_TEST_FLASK_SECRET": LIVE_FLASK_SECRET,
            "DATABASE_URL": django_database_url(),
            "PYTHONWARNINGS": os.environ.get("PYTHONWARNINGS", ""),
        },
    )
    try:
        yield Live(app, server, front, private)
    finally:
        front.process.terminate()
        front.process.wait(timeout=10)
        server.stop()
        with app.app_context():
            users_db.drop_all()
            users_db.engine.dispose()


@pytest.fixture
def legacy_users(live: Live) -> Iterator[Flask]:
    """The legacy users app, its ``user`` table emptied after the test."""
    yield live.app
    with live.app.app_context():
        users_db.session.execute(users_db.delete(User))
        users_db.session.commit()


def send(
    base: str, method: str, path: str, cookies: dict[str, str], **kwargs: Any
) -> tuple[urllib3.BaseHTTPResponse, dict[str, str]]:
    """One request as a browser sends it; returns the response and the cookies it set."""
    headers = dict(kwargs.pop("headers", {}))
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    with urllib3.PoolManager(retries=False, timeout=20) as http:
        response = http.request(method, base + path, headers=headers, redirect=False, **kwargs)
    set_cookies = {}
    for line in response.headers.getlist("Set-Cookie"):
        name, _, value = line.split(";")[0].partition("=")
        set_cookies[name.strip()] = value.strip('"')
    return response, set_cookies
