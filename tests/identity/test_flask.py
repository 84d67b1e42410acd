"""The Flask extension (strangler/identity/flask.py) on a real server on 127.0.0.1.

The attack matrix is here: every way a token can be wrong is its own test,
sent over HTTP to the real app, and each must leave the request anonymous.
Tokens forged by clients through the Django front are in
tests/test_middleware_identity.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import urllib3
from flask import Flask

from strangler.flask import ANONYMOUS, DjangoIdentity, Identity, current_identity
from strangler.identity.tokens import (
    TOKEN_TYPE,
    KeyConfigError,
    TokenSigner,
    load_signing_key,
    load_verifying_key,
)
from tests.identity.conftest import KeyPair
from tests.identity.legacy import create_legacy_app, legacy_config
from tests.upstream import RunningServer, serve

HEADER = "X-Strangler-Identity-Token"
ADA = {
    "sub": "7",
    "username": "ada",
    "email": "ada@example.com",
    "roles": ["curator"],
    "permissions": ["labs.view_sample"],
    "is_staff": False,
    "is_superuser": False,
}


def flask_config(keys: KeyPair, **extra: Any) -> dict[str, Any]:
    return legacy_config(keys.public, **extra)


@pytest.fixture(scope="module")
def legacy(ed_keys: KeyPair) -> Iterator[RunningServer]:
    server = serve(create_legacy_app(flask_config(ed_keys)))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[urllib3.PoolManager]:
    with urllib3.PoolManager(retries=False, timeout=5) as pool:
        yield pool


def get(
    http: urllib3.PoolManager,
    server: RunningServer,
    path: str,
    token: str | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> urllib3.BaseHTTPResponse:
    sent = dict(headers or {})
    if token is not None:
        sent[HEADER] = token
    return http.request(method, server.url + path, headers=sent, redirect=False)


def whoami(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    assert response.status == 200, response.data
    data: dict[str, Any] = response.json()
    return data


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(path: str, method: str = "GET", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        **ADA,
        "iss": "django",
        "aud": "flask",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "unique-jti-0001",
        "req": {"method": method, "target": path},
        **overrides,
    }


def forge(keys: KeyPair, payload: dict[str, Any], **header: Any) -> str:
    """A token signed with ``keys`` (the real private key) and any header we like."""
    headers = {"kid": keys.kid, "typ": TOKEN_TYPE, **header}
    return jwt.encode(payload, load_signing_key("EdDSA", keys.private).key, "EdDSA", headers)


def test_valid_token_gives_the_user(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    data = whoami(get(http, legacy, "/whoami", signer.mint(ADA, method="GET", target="/whoami")))
    assert data["id"] == "7"
    assert data["username"] == "ada"
    assert data["email"] == "ada@example.com"
    assert data["roles"] == ["curator"]
    assert data["permissions"] == ["labs.view_sample"]
    assert data["claims"]["iss"] == "django"
    # Flask-Login's current_user is the app's own user with that id.
    assert data["flask_login_user"] == "ada (flask)"


def test_no_token_is_anonymous(http: urllib3.PoolManager, legacy: RunningServer) -> None:
    data = whoami(get(http, legacy, "/whoami"))
    assert data["id"] is None
    assert data["flask_login_user"] is None


def test_login_required(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    assert get(http, legacy, "/private").status == 401
    token = signer.mint(ADA, method="GET", target="/private")
    response = get(http, legacy, "/private", token)
    assert response.status == 200
    assert response.data == b"private for ada"


def test_roles_required(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    path = "/curators/3"
    assert get(http, legacy, path).status == 401
    response = get(http, legacy, path, signer.mint(ADA, method="GET", target=path))
    assert response.status == 200
    assert response.data == b"sample 3 for curator ada"
    no_role = {**ADA, "roles": ["visitor"]}
    assert get(http, legacy, path, signer.mint(no_role, method="GET", target=path)).status == 403


def test_flask_login_views_and_own_role_checks_keep_working(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    response = get(
        http, legacy, "/flask-login", signer.mint(ADA, method="GET", target="/flask-login")
    )
    assert response.data == b"flask-login user ada (flask)"
    # The app's own role check reads the app's own roles (ada is "admin" in Flask's table).
    token = signer.mint(ADA, method="GET", target="/own-role-check")
    assert get(http, legacy, "/own-role-check", token).data == b"admin ada (flask)"
    bob = {**ADA, "sub": "8", "username": "bob"}
    token = signer.mint(bob, method="GET", target="/own-role-check")
    assert get(http, legacy, "/own-role-check", token).status == 403
    assert get(http, legacy, "/flask-login").status == 401


def test_user_unknown_to_flask_is_anonymous_for_flask_login(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    stranger = {**ADA, "sub": "999", "username": "stranger"}
    data = whoami(
        get(http, legacy, "/whoami", signer.mint(stranger, method="GET", target="/whoami"))
    )
    assert data["username"] == "stranger"
    assert data["flask_login_user"] is None


def test_a_token_overrides_flasks_own_session(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    # Logged in on Flask as bob, but Django says the request is anonymous: Django wins.
    login = http.request(
        "POST", legacy.url + "/legacy-login", fields={"user_id": "8"}, encode_multipart=False
    )
    cookie = login.headers["Set-Cookie"].split(";")[0]
    assert (
        whoami(get(http, legacy, "/whoami", headers={"Cookie": cookie}))["flask_login_user"]
        == "bob (flask)"
    )
    anonymous = signer.mint({"anonymous": True}, method="GET", target="/whoami")
    data = whoami(get(http, legacy, "/whoami", anonymous, headers={"Cookie": cookie}))
    assert data["flask_login_user"] is None
    tampered = anonymous[:-4] + ("AAAA" if not anonymous.endswith("AAAA") else "BBBB")
    data = whoami(get(http, legacy, "/whoami", tampered, headers={"Cookie": cookie}))
    assert data["flask_login_user"] is None


def flask_session_of(app: Flask, response: Any) -> dict[str, Any] | None:
    """The session a Flask response sets (None: it set none), read with Flask's serializer."""
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    sessions = [c.split(";")[0].partition("=")[2] for c in cookies if c.startswith("session=")]
    if not sessions:
        return None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(sessions[0])) if sessions[0] else {}


@pytest.mark.parametrize("token_for", ["nobody", "a refused token", "another user"])
def test_a_token_for_someone_else_removes_flasks_own_login_from_its_session(
    ed_keys: KeyPair, signer: TokenSigner, token_for: str
) -> None:
    app = create_legacy_app(flask_config(ed_keys))
    client = app.test_client()
    client.post("/legacy-login", data={"user_id": "8"})  # bob, in Flask's session
    client.set_cookie("remember_token", "8|digest")  # and Flask-Login's remember-me cookie
    with client.session_transaction() as session:
        session["cart"] = ["sample 7"]
    claims = {"anonymous": True} if token_for == "nobody" else ADA
    token = signer.mint(claims, method="GET", target="/whoami")
    if token_for == "a refused token":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = client.get("/whoami", headers={HEADER: token})
    kept = flask_session_of(app, response)
    assert kept is not None
    assert "_user_id" not in kept
    assert "_fresh" not in kept
    assert kept["cart"] == ["sample 7"]  # the rest of Flask's session stays
    # Flask-Login is told to delete its remember-me cookie too.
    assert any(
        v.startswith("remember_token=;") for k, v in response.headers.items() if k == "Set-Cookie"
    )


def test_a_token_for_the_same_user_keeps_flasks_session_as_it_is(
    ed_keys: KeyPair, signer: TokenSigner
) -> None:
    app = create_legacy_app(flask_config(ed_keys))
    client = app.test_client()
    client.post("/legacy-login", data={"user_id": "7"})
    token = signer.mint(ADA, method="GET", target="/whoami")  # sub 7: the same user
    response = client.get("/whoami", headers={HEADER: token})
    assert response.get_json()["flask_login_user"] == "ada (flask)"
    assert flask_session_of(app, response) is None  # untouched: not even re-signed


def test_a_request_without_a_token_leaves_flasks_session_alone(ed_keys: KeyPair) -> None:
    app = create_legacy_app(flask_config(ed_keys))
    client = app.test_client()
    client.post("/legacy-login", data={"user_id": "8"})
    response = client.get("/whoami")
    assert response.get_json()["flask_login_user"] == "bob (flask)"
    assert flask_session_of(app, response) is None


def test_user_loader_hook_maps_the_identity(ed_keys: KeyPair, signer: TokenSigner) -> None:
    app = create_legacy_app(flask_config(ed_keys))
    identity: DjangoIdentity = app.extensions["strangler"].extension
    seen: list[Identity] = []

    @identity.user_loader
    def by_username(found: Identity) -> Any:
        seen.append(found)
        return app.login_manager._user_callback("8")  # type: ignore[attr-defined]

    token = signer.mint(ADA, method="GET", target="/whoami")
    data = app.test_client().get("/whoami", headers={HEADER: token}).get_json()
    assert data["flask_login_user"] == "bob (flask)"
    assert [found.username for found in seen] == ["ada"]


def test_without_flask_login(ed_keys: KeyPair, signer: TokenSigner) -> None:
    app = create_legacy_app(flask_config(ed_keys), use_flask_login=False)
    server = serve(app)
    try:
        with urllib3.PoolManager(retries=False, timeout=5) as http:
            assert get(http, server, "/private").status == 401
            token = signer.mint(ADA, method="GET", target="/private")
            assert get(http, server, "/private", token).data == b"private for ada"
    finally:
        server.stop()


def test_flask_login_redirect_is_the_apps_choice(ed_keys: KeyPair) -> None:
    app = create_legacy_app(flask_config(ed_keys))
    app.login_manager.login_view = "/accounts/login/"  # type: ignore[attr-defined]
    response = app.test_client().get("/private")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=")


def test_strict_mode_refuses_requests_that_did_not_come_through_django(
    ed_keys: KeyPair, signer: TokenSigner
) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_STRICT=True))
    client = app.test_client()
    assert client.get("/whoami").status_code == 403
    assert client.get("/whoami", headers={HEADER: "garbage"}).status_code == 403
    anonymous = signer.mint({"anonymous": True}, method="GET", target="/whoami")
    assert client.get("/whoami", headers={HEADER: anonymous}).get_json()["id"] is None


def test_a_replayed_anonymous_token_is_anonymous_and_nothing_more(
    ed_keys: KeyPair, signer: TokenSigner
) -> None:
    # A client that got hold of the process's anonymous token calls Flask
    # directly, on every path and method, while logged in on Flask as bob:
    # strict mode lets it in, as nobody.
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_STRICT=True))
    client = app.test_client()
    anonymous = signer.mint_anonymous()
    client.post("/legacy-login", data={"user_id": "8"}, headers={HEADER: anonymous})
    for method, path in [("GET", "/whoami"), ("POST", "/whoami"), ("GET", "/whoami?as=7")]:
        response = client.open(path, method=method, headers={HEADER: anonymous})
        data = response.get_json()
        assert (data["id"], data["flask_login_user"]) == (None, None)
        kept = flask_session_of(app, response)
        assert kept is None or "_user_id" not in kept  # bob's Flask login is not revived
    assert client.get("/private", headers={HEADER: anonymous}).status_code == 401
    assert client.get("/flask-login", headers={HEADER: anonymous}).status_code != 200


def test_authorization_header_carries_the_token(ed_keys: KeyPair, signer: TokenSigner) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_IDENTITY_HEADER="Authorization"))
    client = app.test_client()
    token = signer.mint(ADA, method="GET", target="/whoami")
    data = client.get("/whoami", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert data["username"] == "ada"
    assert (
        client.get("/whoami", headers={"Authorization": f"Basic {token}"}).get_json()["id"] is None
    )
    assert client.get("/whoami", headers={HEADER: token}).get_json()["id"] is None


def test_extension_supports_app_factories_and_several_apps(
    ed_keys: KeyPair, other_ed_keys: KeyPair, signer: TokenSigner
) -> None:
    identity = DjangoIdentity()
    apps = []
    for keys in (ed_keys, other_ed_keys):
        app = Flask(f"factory_{keys.kid[:6]}")
        app.config["STRANGLER_VERIFYING_KEYS"] = {keys.kid: keys.public}
        identity.init_app(app)

        @app.route("/whoami")
        def whoami_view() -> Any:
            return {"id": current_identity.id}

        apps.append(app)
    token = signer.mint(ADA, method="GET", target="/whoami")
    # The first app trusts the signing key, the second does not.
    assert apps[0].test_client().get("/whoami", headers={HEADER: token}).get_json()["id"] == "7"
    assert apps[1].test_client().get("/whoami", headers={HEADER: token}).get_json()["id"] is None
    assert apps[0].config["STRANGLER_LEEWAY"] == 5
    assert apps[0].extensions["strangler"] is not apps[1].extensions["strangler"]


def test_current_identity_outside_a_token_is_anonymous(ed_keys: KeyPair) -> None:
    app = create_legacy_app(flask_config(ed_keys))
    with app.test_request_context("/"):
        assert current_identity.id is None
        assert not current_identity.is_authenticated
    assert ANONYMOUS.roles == frozenset()


def test_without_a_key_requests_are_anonymous_and_it_is_logged_once(
    ed_keys: KeyPair, signer: TokenSigner, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_VERIFYING_KEYS={}))
    client = app.test_client()
    client.post("/legacy-login", data={"user_id": "8"})
    token = signer.mint(ADA, method="GET", target="/whoami")
    with caplog.at_level(logging.WARNING, logger="strangler.flask"):
        # No token (the app's own tests, a developer's browser): Flask-Login as it was.
        response = client.get("/whoami")
        assert response.status_code == 200
        assert response.get_json()["flask_login_user"] == "bob (flask)"
        # A token cannot be checked, so it grants nothing.
        response = client.get("/whoami", headers={HEADER: token})
        assert response.status_code == 200
        assert response.get_json()["id"] is None
        assert response.get_json()["flask_login_user"] is None
    lines = [r.getMessage() for r in caplog.records if "cannot be verified" in r.getMessage()]
    assert lines == [
        "identity tokens cannot be verified, every request is anonymous: "
        "no verifying key is configured"
    ]


def test_a_key_set_after_init_app_is_used(ed_keys: KeyPair, signer: TokenSigner) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_VERIFYING_KEYS={}))
    client = app.test_client()
    token = signer.mint(ADA, method="GET", target="/whoami")
    assert client.get("/whoami", headers={HEADER: token}).get_json()["id"] is None
    app.config["STRANGLER_VERIFYING_KEYS"] = [ed_keys.public]
    assert client.get("/whoami", headers={HEADER: token}).get_json()["id"] == "7"


def test_strict_mode_without_a_key_fails_at_init_app(ed_keys: KeyPair) -> None:
    app = Flask("strict_without_key")
    app.config["STRANGLER_STRICT"] = True
    with pytest.raises(KeyConfigError, match="STRANGLER_STRICT is on but STRANGLER_VERIFYING_KEYS"):
        DjangoIdentity(app)


def damaged_pems(public: str) -> list[str]:
    body = "".join(public.strip().splitlines()[1:-1])
    return [
        public.replace("-----BEGIN", "----BEGIN"),  # a dash short
        body,  # only the base64 body
        public.replace("\n", "\\n"),  # "\n" escapes from a one-line environment variable
        public.replace("-----BEGIN PUBLIC KEY-----\n", "-----BEGIN PUBLIC KEY-----\nAAAA"),
    ]


@pytest.mark.parametrize("damage", range(4))
def test_a_damaged_pem_is_named_as_such(ed_keys: KeyPair, damage: int) -> None:
    # Not "an HS256 secret must be at least 32 random bytes": the PEM is the problem.
    for algorithms in (["EdDSA"], ["EdDSA", "HS256"]):
        app = Flask("damaged_pem")
        app.config["STRANGLER_ALGORITHMS"] = algorithms
        app.config["STRANGLER_VERIFYING_KEYS"] = {"k": damaged_pems(ed_keys.public)[damage]}
        with pytest.raises(KeyConfigError, match="PEM") as raised:
            DjangoIdentity(app)
        assert "HS256 secret must be" not in str(raised.value)


@pytest.mark.parametrize(
    ("algorithms", "keys", "message"),
    [
        (["EdDSA"], {"k": "not a key"}, "not a PEM public key .* HS256 is not in"),
        (["HS256"], {"k": "not a key"}, "HS256 secret must be at least 32 random bytes, not 9"),
        (["EdDSA"], "a string", "must be a dict"),
    ],
)
def test_an_unusable_key_fails_at_init_app(
    ed_keys: KeyPair, algorithms: list[str], keys: object, message: str
) -> None:
    app = Flask("bad_key")
    app.config["STRANGLER_ALGORITHMS"] = algorithms
    app.config["STRANGLER_VERIFYING_KEYS"] = keys
    with pytest.raises(KeyConfigError, match=message):
        DjangoIdentity(app)


def test_a_key_broken_after_init_app_is_anonymous_never_a_500(
    ed_keys: KeyPair, signer: TokenSigner
) -> None:
    for strict, status in ((False, 200), (True, 403)):
        app = create_legacy_app(flask_config(ed_keys, STRANGLER_STRICT=strict))
        app.extensions["strangler"].verifier = None  # as if the config changed after init_app
        app.config["STRANGLER_VERIFYING_KEYS"] = {"k": "not a key"}
        token = signer.mint(ADA, method="GET", target="/whoami")
        response = app.test_client().get("/whoami", headers={HEADER: token})
        assert response.status_code == status
        if not strict:
            assert response.get_json()["id"] is None


def test_refusal_is_logged_without_the_token(
    http: urllib3.PoolManager,
    legacy: RunningServer,
    signer: TokenSigner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = signer.mint(ADA, method="GET", target="/elsewhere")
    with caplog.at_level(logging.WARNING, logger="strangler.flask"):
        whoami(get(http, legacy, "/whoami", token))
    assert "token was minted for another request" in caplog.text
    assert "/whoami" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_flask_side_never_imports_django() -> None:
    # A fresh interpreter where importing django fails: the Flask side must not care.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'django' or name.startswith('django.'):\n"
        "            raise ImportError('django is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import strangler, strangler.flask, strangler.identity.tokens\n"
        "from strangler.flask import DjangoIdentity, current_identity\n"
        "from strangler.flask import login_required, roles_required\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --- the attack matrix: each case on its own, against the real server --------------------


def assert_anonymous(response: urllib3.BaseHTTPResponse) -> None:
    data = whoami(response)
    assert data["id"] is None
    assert data["username"] == ""
    assert data["flask_login_user"] is None


def test_attack_alg_none(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    header = {"alg": "none", "typ": TOKEN_TYPE, "kid": ed_keys.kid}
    token = (
        b64(json.dumps(header).encode())
        + "."
        + b64(json.dumps(claims_for("/whoami")).encode())
        + "."
    )
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_hs256_signed_with_the_public_key(
    http: urllib3.PoolManager, ed_keys: KeyPair
) -> None:
    # Key confusion: the attacker knows the public key and uses it as an HMAC
    # secret, hoping the verifier feeds it to HS256. Even an app that also
    # allows HS256 must refuse.
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_ALGORITHMS=["EdDSA", "HS256"]))
    server = serve(app)
    try:
        header = {"alg": "HS256", "typ": TOKEN_TYPE, "kid": ed_keys.kid}
        signing_input = (
            b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims_for("/whoami")).encode())
        )
        signature = hmac.new(ed_keys.public.encode(), signing_input.encode(), hashlib.sha256)
        token = signing_input + "." + b64(signature.digest())
        assert_anonymous(get(http, server, "/whoami", token))
    finally:
        server.stop()


def test_attack_expired(http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair) -> None:
    past = int(time.time()) - 120
    token = forge(ed_keys, claims_for("/whoami", iat=past, nbf=past, exp=past + 60))
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_not_yet_valid(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    future = int(time.time()) + 120
    token = forge(ed_keys, claims_for("/whoami", iat=future, nbf=future, exp=future + 60))
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_small_clock_skew_is_tolerated(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    # The control for the two cases above: within the 5 s leeway, the token is fine.
    soon = int(time.time()) + 2
    token = forge(ed_keys, claims_for("/whoami", iat=soon, nbf=soon, exp=soon + 60))
    assert whoami(get(http, legacy, "/whoami", token))["id"] == "7"


def test_attack_wrong_issuer(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    token = forge(ed_keys, claims_for("/whoami", iss="someone-else"))
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_wrong_audience(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    token = forge(ed_keys, claims_for("/whoami", aud="billing-service"))
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_audience_list_smuggling_flask(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    token = forge(ed_keys, claims_for("/whoami", aud=["billing-service", "flask"]))
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_wrong_typ(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    # Another JWT signed with the same key (say, an API access token) is not an identity token.
    token = forge(ed_keys, claims_for("/whoami"), typ="JWT")
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_tampered_payload(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    token = signer.mint({**ADA, "roles": []}, method="GET", target="/curators/1")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["curator"]
    tampered = ".".join([header, b64(json.dumps(claims).encode()), signature])
    assert get(http, legacy, "/curators/1", tampered).status == 401
    assert get(http, legacy, "/curators/1", token).status == 403  # the control


def test_attack_replay_against_another_path(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    token = signer.mint(ADA, method="GET", target="/whoami")
    assert whoami(get(http, legacy, "/whoami", token))["id"] == "7"
    assert get(http, legacy, "/curators/1", token).status == 401
    assert get(http, legacy, "/private", token).status == 401


def test_attack_replay_with_another_method(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    token = signer.mint(ADA, method="GET", target="/whoami")
    assert_anonymous(get(http, legacy, "/whoami", token, method="POST"))
    assert_anonymous(get(http, legacy, "/whoami", token, method="DELETE"))


def test_attack_unknown_kid(
    http: urllib3.PoolManager, legacy: RunningServer, other_ed_keys: KeyPair
) -> None:
    # A well-formed token from a key Flask does not trust.
    token = forge(other_ed_keys, claims_for("/whoami"))
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_trusted_kid_but_another_key(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair, other_ed_keys: KeyPair
) -> None:
    token = forge(other_ed_keys, claims_for("/whoami"), kid=ed_keys.kid)
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_missing_kid(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    token = jwt.encode(
        claims_for("/whoami"),
        load_signing_key("EdDSA", ed_keys.private).key,
        "EdDSA",
        {"typ": TOKEN_TYPE},
    )
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_oversized_token(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    # Validly signed, but 9 KiB: refused before it is parsed.
    token = forge(ed_keys, claims_for("/whoami", padding="x" * 9000))
    assert len(token) > 8192
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_token_in_query_string(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    token = signer.mint(ADA, method="GET", target="/whoami")
    for name in (HEADER, "token", "access_token", "jwt"):
        assert_anonymous(get(http, legacy, f"/whoami?{name}={token}"))


def test_attack_token_in_a_cookie(
    http: urllib3.PoolManager, legacy: RunningServer, signer: TokenSigner
) -> None:
    token = signer.mint(ADA, method="GET", target="/whoami")
    assert_anonymous(get(http, legacy, "/whoami", headers={"Cookie": f"{HEADER}={token}"}))


def test_attack_missing_request_binding(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    claims = claims_for("/whoami")
    del claims["req"]
    assert_anonymous(get(http, legacy, "/whoami", forge(ed_keys, claims)))


def test_attack_plain_user_headers_are_not_trusted(
    http: urllib3.PoolManager, legacy: RunningServer
) -> None:
    # Fail closed: no fallback to any plain header, whatever its name.
    headers = {
        "X-Remote-User": "ada",
        "X-User-Id": "7",
        "Remote-User": "ada",
        "X-Forwarded-User": "7",
    }
    assert_anonymous(get(http, legacy, "/whoami", headers=headers))


@pytest.mark.parametrize("leeway", [-1, 31, 61, "5", True])
def test_an_unreasonable_leeway_fails_loudly(ed_keys: KeyPair, leeway: object) -> None:
    with pytest.raises(KeyConfigError, match="STRANGLER_LEEWAY"):
        create_legacy_app(flask_config(ed_keys, STRANGLER_LEEWAY=leeway))


def test_attack_rs256_with_the_attackers_own_key(
    http: urllib3.PoolManager, legacy: RunningServer, ed_keys: KeyPair
) -> None:
    # RS256 is never accepted: an attacker's RSA key, however it is announced, is refused.
    from cryptography.hazmat.primitives.asymmetric import rsa

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    token = jwt.encode(
        claims_for("/whoami"),
        attacker,
        "RS256",
        {"kid": ed_keys.kid, "typ": TOKEN_TYPE, "jwk": jwk},
    )
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_attack_embedded_jwk_header_is_not_trusted(
    http: urllib3.PoolManager, legacy: RunningServer, other_ed_keys: KeyPair
) -> None:
    # The token names its own (attacker's) public key in the header: ignored.
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from jwt.algorithms import OKPAlgorithm

    public = load_verifying_key(other_ed_keys.public).key
    assert isinstance(public, ed25519.Ed25519PublicKey)
    jwk = json.loads(OKPAlgorithm.to_jwk(public))
    token = forge(other_ed_keys, claims_for("/whoami"), jwk=jwk)
    assert_anonymous(get(http, legacy, "/whoami", token))


def test_the_extension_runs_first_and_once(ed_keys: KeyPair, signer: TokenSigner) -> None:
    app = Flask("ordering")
    app.config["STRANGLER_VERIFYING_KEYS"] = [ed_keys.public]
    seen: list[str | None] = []

    @app.before_request
    def apps_own_hook() -> None:
        seen.append(current_identity.username)

    identity = DjangoIdentity(app)
    identity.init_app(app)  # a second init_app must not verify twice

    @app.route("/whoami")
    def whoami_view() -> Any:
        return {"id": current_identity.id}

    token = signer.mint(ADA, method="GET", target="/whoami")
    assert app.test_client().get("/whoami", headers={HEADER: token}).get_json()["id"] == "7"
    assert seen == ["ada"]
    assert len(app.before_request_funcs[None]) == 2  # the extension's hook, and the app's


@pytest.mark.parametrize("path", ["/flask-login", "/private", "/curators/3"])
def test_a_login_is_asked_of_django_with_next_and_no_flash(ed_keys: KeyPair, path: str) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_LOGIN_URL="/accounts/login/"))
    app.login_manager.login_view = "legacy_login"  # type: ignore[attr-defined]  # what it had
    response = app.test_client().get(path + "?tab=2")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/accounts/login/?next=" + path.replace("/", "%2F") + "%3Ftab%3D2"
    )
    assert flask_session_of(app, response) is None  # nothing flashed


def test_the_login_redirect_keeps_the_mount_point_and_the_login_urls_query(
    ed_keys: KeyPair,
) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_LOGIN_URL="/login/?lang=en"))
    response = app.test_client().get("/private", base_url="http://localhost/legacy")
    assert response.headers["Location"] == "/login/?lang=en&next=%2Flegacy%2Fprivate"


def test_the_apps_own_unauthorized_handler_is_kept(ed_keys: KeyPair) -> None:
    app = create_legacy_app(flask_config(ed_keys, STRANGLER_LOGIN_URL="/accounts/login/"))
    app.login_manager.unauthorized_handler(lambda: ("own handler", 401))  # type: ignore[attr-defined]
    response = app.test_client().get("/flask-login")
    assert (response.status_code, response.data) == (401, b"own handler")
