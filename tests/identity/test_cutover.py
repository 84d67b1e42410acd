"""The cut-over (strangler/identity/cutover.py): Flask's logged-in users stay logged in.

Flask cookies here are made by the real Flask app (Flask-Login's login_user
on a real server), then presented to Django as a browser would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from django.core.cache import caches
from django.test import Client
from flask import Flask
from itsdangerous import TimestampSigner
from werkzeug.security import generate_password_hash

from strangler.identity.cutover import BACKEND_PATH, MIDDLEWARE_PATH
from tests.identity.conftest import KeyPair, Live, send
from tests.identity.legacy import create_legacy_app, legacy_config
from tests.identity.legacy_users import add_user
from tests.upstream import RunningServer, serve

FLASK_SECRET = "flask-tests-secret"


@pytest.fixture(scope="module")
def legacy_app(ed_keys: KeyPair) -> Flask:
    return create_legacy_app(legacy_config(ed_keys.public, SECRET_KEY=FLASK_SECRET))


@pytest.fixture(scope="module")
def legacy(legacy_app: Flask) -> Iterator[RunningServer]:
    server = serve(legacy_app)
    yield server
    server.stop()


@pytest.fixture
def cutover(settings: Any, legacy: RunningServer, ed_keys: KeyPair) -> dict[str, Any]:
    flask_session = {"SECRET_KEY": FLASK_SECRET}
    settings.STRANGLER = {
        **settings.STRANGLER,
        "UPSTREAM": legacy.url,
        "IDENTITY": {"SIGNING_KEY": ed_keys.private, "FLASK_SESSION": flask_session},
    }
    settings.ROOT_URLCONF = "tests.identity.urls"
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    stack = list(settings.MIDDLEWARE)
    stack.insert(stack.index(auth) + 1, MIDDLEWARE_PATH)
    settings.MIDDLEWARE = stack
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", BACKEND_PATH]
    caches["default"].clear()
    return flask_session


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("cutover")]


@pytest.fixture
def ada(django_user_model: Any, legacy_app: Flask) -> Any:
    user = django_user_model.objects.create_user("ada", email="ada@example.com")
    legacy_app.config["USERS"][str(user.pk)] = ("ada (flask)", set())
    return user


def flask_login(server: RunningServer, user_id: str) -> str:
    """Log in on Flask itself (before the cut-over) and return its session cookie value."""
    with urllib3.PoolManager(retries=False, timeout=5) as http:
        response = http.request(
            "POST",
            server.url + "/legacy-login",
            fields={"user_id": user_id},
            encode_multipart=False,
        )
    assert response.status == 200
    name, _, value = response.headers["Set-Cookie"].split(";")[0].partition("=")
    assert name == "session"
    return value


def django_whoami(client: Client) -> Any:
    response = client.get("/django-whoami/")
    assert response.status_code == 200
    return response.json()["username"]


def flask_whoami(client: Client) -> Any:
    response = client.get("/whoami")
    assert response.status_code == 200
    return json.loads(response.getvalue())


def test_a_flask_user_reaches_a_django_page_then_flask_as_themselves(
    client: Client, ada: Any, legacy: RunningServer
) -> None:
    client.cookies["session"] = flask_login(legacy, str(ada.pk))
    response = client.get("/django-whoami/")
    assert response.json()["username"] == "ada"
    # Logged into Django (a session cookie), and Flask's cookie is deleted: used once.
    assert response.cookies["sessionid"].value
    assert response.cookies["session"].value == ""
    assert response.cookies["session"]["max-age"] == 0
    assert client.session["_auth_user_backend"] == BACKEND_PATH
    data = flask_whoami(client)
    assert data["username"] == "ada"
    assert data["flask_login_user"] == "ada (flask)"
    assert django_whoami(client) == "ada"


def test_a_flask_user_reaches_a_forwarded_page_first(
    client: Client, ada: Any, legacy: RunningServer
) -> None:
    client.cookies["session"] = flask_login(legacy, str(ada.pk))
    response = client.get("/whoami")
    assert json.loads(response.getvalue())["username"] == "ada"
    # A forwarded answer is Flask's alone: Django logs nobody in there.
    set_cookies = [value for name, value in response.items() if name.lower() == "set-cookie"]
    assert not any(value.startswith("sessionid=") for value in set_cookies)
    # The cookie was not used up: the first Django page converts it.
    assert django_whoami(client) == "ada"


def test_a_cookie_is_accepted_once(client: Client, ada: Any, legacy: RunningServer) -> None:
    cookie = flask_login(legacy, str(ada.pk))
    client.cookies["session"] = cookie
    assert django_whoami(client) == "ada"
    client.logout()
    # A copy of the old cookie (the browser deleted it) does not log anyone back in.
    client.cookies["session"] = cookie
    assert django_whoami(client) is None
    client.cookies["session"] = cookie
    assert flask_whoami(client)["id"] is None


def test_a_django_login_elsewhere_ends_the_users_flask_login(
    client: Client, ada: Any, legacy: RunningServer
) -> None:
    cookie = flask_login(legacy, str(ada.pk))
    # Ada logs into Django on another browser (her password, Django's own login).
    ada.set_password("django pass")
    ada.save()
    other_browser = Client()
    assert other_browser.login(username="ada", password="django pass")
    # Her old Flask cookie, wherever it is, no longer logs anyone in.
    client.cookies["session"] = cookie
    assert django_whoami(client) is None
    client.cookies["session"] = cookie
    assert flask_whoami(client)["id"] is None


def test_copies_of_one_cookie_convert_once(ada: Any, legacy: RunningServer) -> None:
    from strangler.identity.cutover import FlaskSessionBackend

    cookie = flask_login(legacy, str(ada.pk))
    backend = FlaskSessionBackend()
    assert backend.authenticate(None, flask_session=cookie, consume=False) == ada
    assert backend.authenticate(None, flask_session=cookie) == ada
    assert backend.authenticate(None, flask_session=cookie) is None
    assert backend.authenticate(None, flask_session=cookie, consume=False) is None


@pytest.mark.parametrize(("until", "expected"), [("2000-01-01T00:00:00Z", None), (None, "ada")])
def test_the_cutover_window_ends_at_until(
    client: Client,
    ada: Any,
    legacy: RunningServer,
    settings: Any,
    cutover: dict[str, Any],
    until: str | None,
    expected: str | None,
) -> None:
    identity = settings.STRANGLER["IDENTITY"]
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {**identity, "FLASK_SESSION": {**cutover, "UNTIL": until}},
    }
    client.cookies["session"] = flask_login(legacy, str(ada.pk))
    assert (flask_whoami(client)["username"] or None) == expected
    assert django_whoami(client) == expected


def test_a_tampered_flask_cookie_gets_nobody(
    client: Client, ada: Any, legacy: RunningServer
) -> None:
    cookie = flask_login(legacy, str(ada.pk))
    payload, timestamp, signature = cookie.rsplit(".", 2)
    flipped = "A" if payload[-1] != "A" else "B"
    for tampered in (
        payload[:-1] + flipped + "." + timestamp + "." + signature,
        cookie[:-2] + ("xx" if not cookie.endswith("xx") else "yy"),
    ):
        client.cookies["session"] = tampered
        assert django_whoami(client) is None
        client.cookies["session"] = tampered
        data = flask_whoami(client)
        assert data["id"] is None
        assert data["flask_login_user"] is None


def test_a_foreign_flask_cookie_gets_nobody(client: Client, ada: Any, ed_keys: KeyPair) -> None:
    foreign_app = create_legacy_app(legacy_config(ed_keys.public, SECRET_KEY="another-secret"))
    foreign_app.config["USERS"][str(ada.pk)] = ("ada", set())
    foreign = serve(foreign_app)
    try:
        client.cookies["session"] = flask_login(foreign, str(ada.pk))
    finally:
        foreign.stop()
    assert django_whoami(client) is None
    assert flask_whoami(client)["id"] is None


def test_an_expired_flask_cookie_gets_nobody(client: Client, ada: Any, legacy_app: Flask) -> None:
    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 32 * 24 * 3600

    # Flask's own serializer, as if it had signed this cookie 32 days ago.
    serializer = legacy_app.session_interface.get_signing_serializer(legacy_app)  # type: ignore[attr-defined]
    serializer.signer = LongAgo
    client.cookies["session"] = serializer.dumps({"_user_id": str(ada.pk), "_fresh": True})
    assert django_whoami(client) is None
    serializer.signer = TimestampSigner
    client.cookies["session"] = serializer.dumps({"_user_id": str(ada.pk), "_fresh": True})
    assert django_whoami(client) == "ada"  # the control: the same cookie, signed now


def test_a_flask_session_without_a_login_is_left_alone(
    client: Client, ada: Any, legacy_app: Flask
) -> None:
    serializer = legacy_app.session_interface.get_signing_serializer(legacy_app)  # type: ignore[attr-defined]
    client.cookies["session"] = serializer.dumps({"csrf_token": "abc"})
    response = client.get("/django-whoami/")
    assert response.json()["username"] is None
    assert "session" not in response.cookies


def test_an_inactive_user_is_not_logged_in(client: Client, ada: Any, legacy: RunningServer) -> None:
    ada.is_active = False
    ada.save()
    client.cookies["session"] = flask_login(legacy, str(ada.pk))
    assert django_whoami(client) is None


def test_a_django_login_wins_over_a_flask_cookie(
    client: Client, ada: Any, django_user_model: Any, legacy: RunningServer, legacy_app: Flask
) -> None:
    bob = django_user_model.objects.create_user("bob")
    legacy_app.config["USERS"][str(bob.pk)] = ("bob (flask)", set())
    client.force_login(ada)
    client.cookies["session"] = flask_login(legacy, str(bob.pk))
    response = client.get("/django-whoami/")
    assert response.json()["username"] == "ada"
    assert response.cookies["session"].value == ""  # superseded: forgotten
    assert flask_whoami(client)["username"] == "ada"


def legacy_ids(flask_user_id: str) -> Any:
    from django.contrib.auth import get_user_model

    # Flask numbered users "L-<django pk>"; anything else is nobody.
    if not flask_user_id.startswith("L-"):
        return None
    return get_user_model()._default_manager.filter(pk=flask_user_id[2:]).first()


def test_a_mapping_callable_finds_the_django_user(
    client: Client,
    ada: Any,
    legacy: RunningServer,
    legacy_app: Flask,
    settings: Any,
    cutover: dict[str, Any],
) -> None:
    identity = settings.STRANGLER["IDENTITY"]
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {**identity, "FLASK_SESSION": {**cutover, "USER": f"{__name__}.legacy_ids"}},
    }
    legacy_app.config["USERS"][f"L-{ada.pk}"] = ("ada (flask)", set())
    client.cookies["session"] = flask_login(legacy, f"L-{ada.pk}")
    assert django_whoami(client) == "ada"
    client.logout()
    client.cookies["session"] = flask_login(legacy, str(ada.pk))
    assert django_whoami(client) is None


def test_switched_off_a_flask_cookie_is_ignored(
    client: Client, ada: Any, legacy: RunningServer, settings: Any
) -> None:
    identity = settings.STRANGLER["IDENTITY"]
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {**identity, "FLASK_SESSION": None},
    }
    client.cookies["session"] = flask_login(legacy, str(ada.pk))
    response = client.get("/django-whoami/")
    assert response.json()["username"] is None
    assert "session" not in response.cookies


# --- the replay, end to end through a live front and a real Flask-Login app ---------------


@pytest.mark.django_db(transaction=True)
def test_a_replayed_flask_login_never_logs_a_logged_out_user_back_in(
    live: Live, legacy_users: Flask, django_user_model: Any
) -> None:
    # Ada's Django user exists already (imported), under another id than Flask's.
    django_user_model.objects.create_user("ada")
    legacy_ada = add_user(legacy_users, "ada", generate_password_hash("legacy pass"))
    front = live.front.url

    # Logged in on Flask itself, before the cut-over.
    response, flask_cookies = send(
        live.flask.url,
        "POST",
        "/login",
        {},
        fields={"username": "ada", "password": "legacy pass"},
        encode_multipart=False,
    )
    assert response.status == 302
    original = flask_cookies["session"]
    assert live.flask_session(original)["_user_id"] == str(legacy_ada.id)

    # The first Django page through the front: logged into Django, Flask's cookie deleted.
    response, set_cookies = send(front, "GET", "/django-whoami/", {"session": original})
    assert response.json()["username"] == "ada"
    assert set_cookies["session"] == ""
    django_session = set_cookies["sessionid"]
    response, _ = send(front, "GET", "/account", {"sessionid": django_session})
    assert response.json() == {"account": "ada"}

    # Logged out of Django.
    response, _ = send(front, "POST", "/django-logout/", {"sessionid": django_session})
    assert response.json() == {"logged_out": True}

    # The original cookie replayed on forwarded pages: anonymous, sent to Django's
    # login, and Flask's session loses the login keys (nothing else was in it).
    response, set_cookies = send(front, "GET", "/account", {"session": original})
    assert response.status == 302
    assert response.headers["Location"] == "/accounts/login/?next=%2Faccount"
    assert set_cookies["session"] == ""
    # On a page that flashes (as "Please log in" did), Flask re-signs its session:
    # the message stays, the login does not.
    response, set_cookies = send(front, "GET", "/flash", {"session": original})
    resigned = set_cookies["session"]
    assert resigned != original
    assert "_user_id" not in live.flask_session(resigned)
    assert live.flask_session(resigned)["_flashes"]  # the rest of Flask's session is kept

    # Whatever Flask re-signs with the login still inside (here: Flask reached
    # directly, re-signing on a flash) is refused too: the login has ended.
    _, set_cookies = send(live.flask.url, "GET", "/flash", {"session": original})
    resigned_with_login = set_cookies["session"]
    assert live.flask_session(resigned_with_login)["_user_id"] == str(legacy_ada.id)
    for cookie in (original, resigned, resigned_with_login):
        response, _ = send(front, "GET", "/whoami", {"session": cookie})
        assert response.json()["username"] is None
        response, set_cookies = send(front, "GET", "/django-whoami/", {"session": cookie})
        assert response.json()["username"] is None
        assert "sessionid" not in set_cookies
