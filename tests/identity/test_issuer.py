"""Django's side (strangler/identity/issuer.py, claims.py) end to end through the front door.

A user logged in on Django calls Flask views through StranglerMiddleware; the
Flask app (tests/identity/legacy.py, DjangoIdentity) runs on a real server on
127.0.0.1, users and sessions live in PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import Group, Permission
from django.http import HttpRequest
from django.test import Client
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from strangler.identity.tokens import TokenSigner, generate_key_pair
from tests.conftest import Front, start_front
from tests.identity import inprocess
from tests.identity.conftest import KeyPair
from tests.identity.legacy import create_legacy_app, legacy_config
from tests.upstream import RunningServer, serve

HEADER = "X-Strangler-Identity-Token"


@pytest.fixture(scope="module")
def legacy_app(ed_keys: KeyPair) -> Flask:
    return create_legacy_app(legacy_config(ed_keys.public))


@pytest.fixture(scope="module")
def legacy(legacy_app: Flask) -> Iterator[RunningServer]:
    server = serve(legacy_app)
    yield server
    server.stop()


@pytest.fixture
def identity_on(settings: Any, legacy: RunningServer, ed_keys: KeyPair) -> dict[str, Any]:
    identity = {"SIGNING_KEY": ed_keys.private}
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": legacy.url, "IDENTITY": identity}
    return identity


@pytest.fixture
def ada(django_user_model: Any, legacy_app: Flask) -> Any:
    user = django_user_model.objects.create_user("ada", email="ada@example.com", is_staff=True)
    user.groups.add(Group.objects.create(name="curator"))
    user.user_permissions.add(Permission.objects.get(codename="view_group"))
    legacy_app.config["USERS"][str(user.pk)] = ("ada (flask)", {"admin"})
    return user


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob")


def body(response: Any) -> Any:
    return json.loads(b"".join(response.streaming_content))


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("identity_on")]


def test_logged_in_user_with_the_role_reaches_the_flask_view(client: Client, ada: Any) -> None:
    client.force_login(ada)
    response = client.get("/curators/5")
    assert response.status_code == 200
    assert response.getvalue() == b"sample 5 for curator ada"


def test_without_the_role_flask_answers_403(client: Client, bob: Any) -> None:
    client.force_login(bob)
    assert client.get("/curators/5").status_code == 403
    assert client.get("/private").getvalue() == b"private for bob"


def test_logged_out_flask_answers_401(client: Client) -> None:
    assert client.get("/curators/5").status_code == 401
    assert client.get("/private").status_code == 401


def test_the_token_carries_the_user(client: Client, ada: Any) -> None:
    client.force_login(ada)
    data = body(client.get("/whoami"))
    assert data["id"] == str(ada.pk)
    assert data["username"] == "ada"
    assert data["email"] == "ada@example.com"
    assert data["roles"] == ["curator"]
    assert data["permissions"] == ["auth.view_group"]
    assert data["is_staff"] is True
    assert data["is_superuser"] is False
    assert data["claims"]["req"] == {"method": "GET", "target": "/whoami"}
    assert data["claims"]["exp"] - data["claims"]["iat"] == 60
    # Flask-Login's current_user is Flask's own user with the same id.
    assert data["flask_login_user"] == "ada (flask)"


def test_superuser_claims_skip_the_permission_list(client: Client, django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", password=None)
    client.force_login(root)
    data = body(client.get("/whoami"))
    assert data["is_superuser"] is True
    assert data["permissions"] == []


def test_anonymous_requests_carry_an_anonymous_token(client: Client) -> None:
    data = body(client.get("/whoami"))
    assert data["id"] is None
    assert data["claims"]["anonymous"] is True
    assert "sub" not in data["claims"]


def test_anonymous_requests_cost_no_query(client: Client, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = client.get("/whoami")
        assert body(response)["claims"]["anonymous"] is True


def custom_claims(request: HttpRequest, user: Any) -> dict[str, Any]:
    return {"tenant": "labs-eu", "email": None, "roles": ["custom"]}


def test_claims_hook_adds_changes_and_removes_claims(
    client: Client, ada: Any, settings: Any, identity_on: dict[str, Any]
) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {**identity_on, "CLAIMS": f"{__name__}.custom_claims"},
    }
    client.force_login(ada)
    claims = body(client.get("/whoami"))["claims"]
    assert claims["tenant"] == "labs-eu"
    assert claims["roles"] == ["custom"]
    assert "email" not in claims


def test_every_method_is_bound(client: Client, ada: Any) -> None:
    client.force_login(ada)
    for method in ("POST", "DELETE"):
        data = body(client.generic(method, "/whoami"))
        assert data["username"] == "ada"
        assert data["claims"]["req"]["method"] == method


def test_a_session_invalidated_by_a_password_change_is_anonymous(client: Client, ada: Any) -> None:
    client.force_login(ada)
    ada.set_password("a-new-password-456")
    ada.save()
    assert body(client.get("/whoami"))["id"] is None


def test_an_inactive_user_is_anonymous(client: Client, ada: Any) -> None:
    client.force_login(ada)
    ada.is_active = False
    ada.save()
    assert body(client.get("/whoami"))["id"] is None


def test_the_in_process_transport_carries_the_token(
    client: Client, ada: Any, settings: Any, legacy_app: Flask
) -> None:
    inprocess.app = legacy_app
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": "wsgi:tests.identity.inprocess:app"}
    client.force_login(ada)
    response = client.get("/curators/9")
    assert response.getvalue() == b"sample 9 for curator ada"
    assert client.get("/whoami", HTTP_X_STRANGLER_IDENTITY_TOKEN="forged").status_code == 200


def test_an_upstream_under_a_prefix_is_bound_to_the_full_path(
    client: Client, ada: Any, settings: Any, legacy_app: Flask
) -> None:
    mounted = serve(Flask("root"))
    mounted.server.app = DispatcherMiddleware(mounted.server.app, {"/legacy": legacy_app})
    try:
        settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": mounted.url + "/legacy"}
        client.force_login(ada)
        data = body(client.get("/whoami"))
        assert data["username"] == "ada"
        assert data["claims"]["req"]["target"] == "/legacy/whoami"
    finally:
        mounted.stop()


def test_token_in_authorization_header(
    client: Client, ada: Any, settings: Any, ed_keys: KeyPair, legacy_app: Flask
) -> None:
    app = create_legacy_app(
        legacy_config(ed_keys.public, STRANGLER_IDENTITY_HEADER="Authorization")
    )
    server = serve(app)
    try:
        settings.STRANGLER = {
            **settings.STRANGLER,
            "UPSTREAM": server.url,
            "IDENTITY": {"SIGNING_KEY": ed_keys.private, "HEADER": "Authorization"},
        }
        client.force_login(ada)
        assert body(client.get("/whoami"))["username"] == "ada"
        # A client's own Authorization never reaches Flask: Django's replaces it.
        headers = body(client.get("/headers", HTTP_AUTHORIZATION="Bearer forged.by.client"))
        values = [value for name, value in headers if name.lower() == "authorization"]
        assert len(values) == 1
        assert values[0].startswith("Bearer ey")
        assert "forged" not in values[0]
    finally:
        server.stop()


def test_no_signing_key_means_no_token(
    client: Client, settings: Any, legacy: RunningServer
) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "IDENTITY": {}}
    headers = body(client.get("/headers", HTTP_X_STRANGLER_IDENTITY_TOKEN="forged"))
    assert HEADER.lower() not in {name.lower() for name, _ in headers}


def test_a_bad_key_fails_closed_and_is_logged(
    client: Client, ada: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "IDENTITY": {"SIGNING_KEY": "too-short"}}
    client.force_login(ada)
    with caplog.at_level(logging.ERROR, logger="strangler.identity"):
        data = body(client.get("/whoami"))
    assert data["id"] is None
    assert "identity token not minted for GET /whoami" in caplog.text


def test_a_client_cannot_replay_a_token_through_the_front(client: Client, ada: Any) -> None:
    client.force_login(ada)
    stolen = body(client.get("/headers"))
    [token] = [value for name, value in stolen if name.lower() == HEADER.lower()]
    client.logout()
    response = client.get("/whoami", HTTP_X_STRANGLER_IDENTITY_TOKEN=token)
    assert body(response)["id"] is None


def test_a_token_in_the_query_string_is_ignored(client: Client, ada: Any) -> None:
    client.force_login(ada)
    [token] = [
        value for name, value in body(client.get("/headers")) if name.lower() == HEADER.lower()
    ]
    client.logout()
    for name in (HEADER, "token", "jwt"):
        assert body(client.get(f"/whoami?{name}={token}"))["id"] is None


# --- a client forging the header through a live front (gunicorn), every spelling ---------


@pytest.fixture(scope="module")
def live(ed_keys: KeyPair) -> Iterator[tuple[Front, RunningServer, str]]:
    # Its own key pair: the live front signs with what it reads from the environment.
    private, public, _ = generate_key_pair("EdDSA")
    flask_server = serve(create_legacy_app(legacy_config(public)))
    front = start_front(
        flask_server.url,
        {
            "DJANGO_SETTINGS_MODULE": "tests.identity.front_settings",
            "STRANGLER_TEST_SIGNING_KEY": private,
            "DATABASE_URL": os.environ["DATABASE_URL"],
        },
    )
    try:
        yield front, flask_server, private
    finally:
        front.process.terminate()
        front.process.wait(timeout=10)
        flask_server.stop()


def raw_get(front: Front, path: str, headers: list[tuple[str, str]]) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


SPELLINGS = [
    "X-Strangler-Identity-Token",
    "x-strangler-identity-token",
    "X-STRANGLER-IDENTITY-TOKEN",
    "x-StRaNgLeR-iDeNtItY-tOkEn",
    "X_Strangler_Identity_Token",
    "x_strangler_identity_token",
    "X-Strangler_Identity-Token",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_forged_identity_header_never_reaches_flask(
    live: tuple[Front, RunningServer, str], spelling: str
) -> None:
    front, _, private = live
    # Even a token Django's own key signed (for this very request) does not pass.
    from strangler.identity.tokens import TokenSigner, load_signing_key

    signer = TokenSigner(
        load_signing_key("EdDSA", private), issuer="django", audience="flask", lifetime=60
    )
    forged = signer.mint({"sub": "7", "username": "ada"}, method="GET", target="/whoami")
    status, data = raw_get(front, "/whoami", [(spelling, forged)])
    assert status == 200
    assert data["id"] is None
    assert data["claims"]["anonymous"] is True  # Django's own anonymous token, not the forgery
    status, headers = raw_get(front, "/headers", [(spelling, forged)])
    identity = [value for name, value in headers if name.lower() == HEADER.lower()]
    assert len(identity) == 1
    assert identity[0] != forged


# Finding 6 of issue 7: the token is bound to the target as sent, whatever its bytes.
NON_ASCII_TARGETS = [
    "/anywhere/caf%C3%A9",
    "/anywhere/x%C2%A0",
    "/anywhere/caf%E9",
    "/anywhere/a%2fb?q=%C3%A9&flag",
]


@pytest.mark.parametrize("target", NON_ASCII_TARGETS)
def test_flask_accepts_the_token_on_non_ascii_targets_through_a_live_front(
    live: tuple[Front, RunningServer, str], target: str
) -> None:
    front, _, _ = live
    status, data = raw_get(front, target, [])
    assert status == 200
    # A verified (anonymous) token has claims; a refused one leaves Flask with none.
    assert data["claims"].get("anonymous") is True, data


@pytest.mark.parametrize("target", NON_ASCII_TARGETS)
def test_a_logged_in_user_is_known_to_flask_on_non_ascii_targets(
    client: Client, ada: Any, target: str
) -> None:
    client.force_login(ada)
    data = body(client.get(target))
    assert data["username"] == "ada", data


def test_a_forged_header_sent_twice_never_reaches_flask(
    live: tuple[Front, RunningServer, str],
) -> None:
    front, _, _ = live
    status, headers = raw_get(front, "/headers", [(HEADER, "one"), (HEADER.lower(), "two")])
    identity = [value for name, value in headers if name.lower() == HEADER.lower()]
    assert status == 200
    assert len(identity) == 1
    assert identity[0] not in ("one", "two", "one,two", "one, two")


def test_logged_in_requests_read_roles_once_then_only_session_and_user(
    client: Client, ada: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(ada)
    assert body(client.get("/whoami"))["roles"] == ["curator"]
    with django_assert_num_queries(2):  # the session and the user: fresh every time
        assert body(client.get("/whoami"))["roles"] == ["curator"]


def test_a_role_change_here_is_seen_at_once(client: Client, ada: Any) -> None:
    client.force_login(ada)
    assert body(client.get("/whoami"))["roles"] == ["curator"]
    ada.groups.clear()
    assert body(client.get("/whoami"))["roles"] == []
    ada.groups.add(Group.objects.create(name="archivist"))
    assert body(client.get("/whoami"))["roles"] == ["archivist"]


def test_roles_cache_reuses_and_can_be_switched_off(
    client: Client, ada: Any, settings: Any, identity_on: dict[str, Any]
) -> None:
    from django.db import connection

    client.force_login(ada)
    assert body(client.get("/whoami"))["roles"] == ["curator"]
    # A change no signal reports (another process, raw SQL): seen after ROLES_CACHE seconds.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [ada.pk])
    assert body(client.get("/whoami"))["roles"] == ["curator"]
    settings.STRANGLER = {**settings.STRANGLER, "IDENTITY": {**identity_on, "ROLES_CACHE": 0}}
    assert body(client.get("/whoami"))["roles"] == []


def test_a_database_failure_sends_the_request_as_anonymous(
    client: Client, ada: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(ada)
    settings.SESSION_ENGINE = "tests.identity.broken_sessions"
    with caplog.at_level(logging.ERROR, logger="strangler.identity"):
        response = client.get("/whoami")
    assert response.status_code == 200
    assert body(response)["id"] is None
    assert "sent as anonymous: the database went away" in caplog.text


# --- a token is reused for the same claims, method and target, for half its lifetime ------


def sent_token(client: Client, path: str = "/headers", **extra: Any) -> str:
    headers = body(client.get(path, **extra))
    return next(value for name, value in headers if name.lower() == HEADER.lower())


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_every_anonymous_request_gets_the_one_anonymous_token(client: Client) -> None:
    first = sent_token(client)
    assert sent_token(client) == first
    assert sent_token(client, "/headers?page=2") == first  # not bound: it protects nobody
    assert sent_token(Client(), "/headers") == first  # another client, the same token
    claims = claims_of(first)
    assert claims["anonymous"] is True
    assert claims["req"] == "any"
    # Nothing but the registered claims: no user, no role, no hook's claim.
    assert set(claims) == {"anonymous", "iss", "aud", "iat", "nbf", "exp", "jti", "req"}


def test_a_logged_in_request_never_gets_the_anonymous_token(client: Client, ada: Any) -> None:
    anonymous = sent_token(client)
    client.force_login(ada)
    for path in ("/headers", "/headers?page=2"):
        token = sent_token(client, path)
        assert token != anonymous
        claims = claims_of(token)
        assert claims["sub"] == str(ada.pk)
        assert "anonymous" not in claims
        assert claims["req"] == {"method": "GET", "target": path}  # bound, as ever
    client.logout()
    assert sent_token(client) == anonymous


def test_a_stale_session_cookie_gets_the_anonymous_token(client: Client) -> None:
    anonymous = sent_token(client)
    client.cookies["sessionid"] = "no-such-session"
    assert sent_token(client) == anonymous


def test_a_claims_hook_sees_anonymous_requests_too(
    client: Client, settings: Any, identity_on: dict[str, Any]
) -> None:
    anonymous = sent_token(client)
    settings.STRANGLER = {
        **settings.STRANGLER,
        "IDENTITY": {**identity_on, "CLAIMS": f"{__name__}.tenant_claim"},
    }
    token = sent_token(client, HTTP_HOST="front.example")
    assert token != anonymous
    claims = claims_of(token)
    assert (claims["anonymous"], claims["tenant"]) == (True, "front.example")
    assert claims["req"] == {"method": "GET", "target": "/headers"}  # a claim: bound again


def tenant_claim(request: HttpRequest, user: Any) -> dict[str, Any]:
    return {"tenant": request.get_host()}


def test_the_same_users_request_reuses_its_token_until_anything_changes(
    client: Client, ada: Any, bob: Any
) -> None:
    client.force_login(ada)
    first = sent_token(client)
    assert sent_token(client) == first
    ada.groups.add(Group.objects.create(name="editor"))  # new roles: new claims
    changed = sent_token(client)
    assert changed != first
    client.force_login(bob)  # another user
    assert sent_token(client) not in (first, changed)
    client.logout()  # nobody
    assert "anonymous" in str(body(client.get("/whoami"))["claims"])


def test_a_reused_token_is_renewed_after_half_its_lifetime(signer: TokenSigner) -> None:
    from strangler.identity.issuer import ReusedTokens

    now = [1_800_000_000.0]
    tokens = ReusedTokens(signer, clock=lambda: now[0])
    for claims in ({"anonymous": True}, {"sub": "7"}):
        first = tokens.token(claims, method="GET", target="/x")
        now[0] += 29
        assert tokens.token(claims, method="GET", target="/x") == first
        now[0] += 2
        renewed = tokens.token(claims, method="GET", target="/x")
        assert renewed != first
        assert claims_of(renewed)["iat"] == int(now[0])  # a whole lifetime ahead of it


def test_flask_accepts_a_renewed_token(client: Client) -> None:
    from strangler.identity.issuer import reused_tokens

    first = sent_token(client)
    tokens = reused_tokens()
    assert tokens is not None
    tokens._anonymous = (0.0, tokens._anonymous[1])  # as if half the lifetime had gone by
    assert sent_token(client) != first
    assert body(client.get("/whoami"))["claims"]["anonymous"] is True
