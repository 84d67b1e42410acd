"""System checks for STRANGLER["IDENTITY"] (strangler/identity/checks.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from strangler.identity.cutover import BACKEND_PATH, MIDDLEWARE_PATH
from strangler.identity.tokens import generate_key_pair
from tests.identity import inprocess
from tests.identity.conftest import KeyPair
from tests.identity.legacy import create_legacy_app, legacy_config

AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def ids(settings: Any, identity: object, **overrides: Any) -> set[str]:
    strangler = {**settings.STRANGLER, "IDENTITY": identity}
    with override_settings(STRANGLER=strangler, **overrides):
        return {
            message.id
            for message in run_checks()
            if message.id and message.id.startswith("strangler.")
        }


def test_a_good_configuration_is_clean(settings: Any, ed_keys: KeyPair) -> None:
    assert ids(settings, {"SIGNING_KEY": ed_keys.private}) == set()


def test_identity_not_configured_is_silent(settings: Any) -> None:
    assert not {i for i in ids(settings, None) if i.startswith("strangler.E02")}


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        ("not a dict", "strangler.E020"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "LIFETME": 60}, "strangler.E021"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "RS256"}, "strangler.E022"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "none"}, "strangler.E022"),
        ({}, "strangler.W020"),
        ({"SIGNING_KEY": None}, "strangler.W020"),
        ({"SIGNING_KEY": "short", "ALGORITHM": "HS256"}, "strangler.E023"),
        ({"SIGNING_KEY": "not a pem"}, "strangler.E023"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "ISSUER": ""}, "strangler.E025"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "AUDIENCE": None}, "strangler.E025"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "LIFETIME": 0}, "strangler.E026"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "LIFETIME": "60"}, "strangler.E026"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "LIFETIME": 3600}, "strangler.W027"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "ROLES_CACHE": -1}, "strangler.E039"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "ROLES_CACHE": "30"}, "strangler.E039"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "HEADER": "X Bad"}, "strangler.E028"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "HEADER": "Cookie"}, "strangler.E028"),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "HEADER": "X-User"}, "strangler.W029"),
        (
            {"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "CLAIMS": "no.such.hook"},
            "strangler.E030",
        ),
        ({"SIGNING_KEY": "x" * 40, "ALGORITHM": "HS256", "CLAIMS": "os.sep"}, "strangler.E030"),
    ],
)
def test_misconfiguration_is_reported(settings: Any, identity: object, expected: str) -> None:
    assert expected in ids(settings, identity)


def test_the_private_key_of_another_algorithm_is_reported(settings: Any, ed_keys: KeyPair) -> None:
    assert "strangler.E023" in ids(settings, {"SIGNING_KEY": ed_keys.private, "ALGORITHM": "ES256"})


def test_hs256_with_djangos_secret_key_is_reported(settings: Any) -> None:
    secret = "s" * 50
    identity = {"SIGNING_KEY": secret, "ALGORITHM": "HS256"}
    assert "strangler.E024" in ids(settings, identity, SECRET_KEY=secret)
    assert "strangler.E024" not in ids(settings, identity, SECRET_KEY="t" * 50)


def test_authorization_header_is_fine(settings: Any, ed_keys: KeyPair) -> None:
    assert ids(settings, {"SIGNING_KEY": ed_keys.private, "HEADER": "Authorization"}) == set()


def cutover_settings(settings: Any) -> dict[str, Any]:
    stack = list(settings.MIDDLEWARE)
    stack.insert(stack.index(AUTH) + 1, MIDDLEWARE_PATH)
    return {
        "MIDDLEWARE": stack,
        "AUTHENTICATION_BACKENDS": ["django.contrib.auth.backends.ModelBackend", BACKEND_PATH],
    }


@pytest.mark.parametrize("until", [None, "2999-01-31T00:00:00+01:00"])
def test_a_complete_cutover_is_clean(settings: Any, ed_keys: KeyPair, until: str | None) -> None:
    flask_session = {"SECRET_KEY": "flask", "UNTIL": until}
    identity = {"SIGNING_KEY": ed_keys.private, "FLASK_SESSION": flask_session}
    assert ids(settings, identity, **cutover_settings(settings)) == set()


@pytest.mark.parametrize(
    ("flask_session", "change", "expected"),
    [
        ("yes", {}, "strangler.E031"),
        ({"SECRET_KEY": "f", "COOKIE": "s"}, {}, "strangler.E100"),
        ({"SECRET_KEY": "f", "CACHE": "default"}, {}, "strangler.E100"),
        ({}, {}, "strangler.E101"),
        ({"SECRET_KEY": ""}, {}, "strangler.E101"),
        ({"SECRET_KEY": "f", "USER": "no.such.mapper"}, {}, "strangler.E102"),
        ({"SECRET_KEY": "f", "USER": "os.sep"}, {}, "strangler.E102"),
        ({"SECRET_KEY": "f", "UNTIL": "next week"}, {}, "strangler.E103"),
        ({"SECRET_KEY": "f", "UNTIL": "2027-01-31T00:00:00"}, {}, "strangler.E103"),
        ({"SECRET_KEY": "f", "UNTIL": "2000-01-31T00:00:00Z"}, {}, "strangler.W104"),
        ({"SECRET_KEY": "f"}, {"AUTHENTICATION_BACKENDS": []}, "strangler.E032"),
        ({"SECRET_KEY": "f"}, {"MIDDLEWARE": "no cut-over middleware"}, "strangler.E033"),
        ({"SECRET_KEY": "f"}, {"MIDDLEWARE": "before auth"}, "strangler.E033"),
        ({"SECRET_KEY": "f", "COOKIE_NAME": "sessionid"}, {}, "strangler.E034"),
    ],
)
def test_cutover_misconfiguration_is_reported(
    settings: Any, ed_keys: KeyPair, flask_session: object, change: dict[str, Any], expected: str
) -> None:
    overrides = cutover_settings(settings)
    for name, value in change.items():
        if value == "no cut-over middleware":
            value = list(settings.MIDDLEWARE)
        elif value == "before auth":
            value = [m for m in overrides["MIDDLEWARE"] if m != MIDDLEWARE_PATH]
            value.insert(value.index(AUTH), MIDDLEWARE_PATH)
        overrides[name] = value
    identity = {"SIGNING_KEY": ed_keys.private, "FLASK_SESSION": flask_session}
    # One id per problem: the configuration has exactly this one.
    assert ids(settings, identity, **overrides) == {expected}


@pytest.fixture
def flask_upstream(settings: Any) -> Any:
    def use(app: Any) -> None:
        inprocess.app = app
        settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": "wsgi:tests.identity.inprocess:app"}

    return use


def test_a_flask_app_that_trusts_the_key_is_clean(
    settings: Any, ed_keys: KeyPair, flask_upstream: Any
) -> None:
    flask_upstream(create_legacy_app(legacy_config(ed_keys.public)))
    assert ids(settings, {"SIGNING_KEY": ed_keys.private}) == set()


def test_a_flask_app_with_another_key_is_reported(
    settings: Any, ed_keys: KeyPair, flask_upstream: Any
) -> None:
    _, other_public, _ = generate_key_pair("EdDSA")
    flask_upstream(create_legacy_app(legacy_config(other_public)))
    assert "strangler.E037" in ids(settings, {"SIGNING_KEY": ed_keys.private})


@pytest.mark.parametrize(
    "config",
    [
        {"STRANGLER_AUDIENCE": "other"},
        {"STRANGLER_ISSUER": "other"},
        {"STRANGLER_ALGORITHMS": ["ES256"]},
        {"STRANGLER_IDENTITY_HEADER": "Authorization"},
        {"STRANGLER_VERIFYING_KEYS": ["short"]},
    ],
)
def test_a_flask_app_that_would_refuse_the_tokens_is_reported(
    settings: Any, ed_keys: KeyPair, flask_upstream: Any, config: dict[str, Any]
) -> None:
    app = create_legacy_app(legacy_config(ed_keys.public))
    app.config.update(config)  # after init_app, which refuses unusable keys itself
    flask_upstream(app)
    assert "strangler.E037" in ids(settings, {"SIGNING_KEY": ed_keys.private})


def test_an_excessive_flask_leeway_is_reported(
    settings: Any, ed_keys: KeyPair, flask_upstream: Any
) -> None:
    app = create_legacy_app(legacy_config(ed_keys.public))
    flask_upstream(app)
    for leeway in (31, -1, "5"):
        app.config["STRANGLER_LEEWAY"] = leeway  # after init_app, which refuses it itself
        assert ids(settings, {"SIGNING_KEY": ed_keys.private}) == {"strangler.W038"}
    app.config["STRANGLER_LEEWAY"] = 30
    assert ids(settings, {"SIGNING_KEY": ed_keys.private}) == set()


def test_a_flask_app_without_the_extension_is_reported(
    settings: Any, ed_keys: KeyPair, flask_upstream: Any
) -> None:
    from flask import Flask

    flask_upstream(Flask("bare"))
    assert ids(settings, {"SIGNING_KEY": ed_keys.private}) == {"strangler.W036"}


LEGACY_BACKEND = "strangler.identity.legacy.LegacyUserBackend"
WERKZEUG = "strangler.identity.hashers.WerkzeugPasswordHasher"


def legacy_settings() -> dict[str, Any]:
    return {
        "AUTHENTICATION_BACKENDS": ["django.contrib.auth.backends.ModelBackend", LEGACY_BACKEND],
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.PBKDF2PasswordHasher", WERKZEUG],
    }


def test_a_complete_legacy_users_setup_is_clean(settings: Any, ed_keys: KeyPair) -> None:
    identity = {"SIGNING_KEY": ed_keys.private, "LEGACY_USERS": {"TABLE": "legacy.user"}}
    assert ids(settings, identity, **legacy_settings()) == set()


@pytest.mark.parametrize(
    ("legacy_users", "change", "expected"),
    [
        ("user", {}, "strangler.E105"),
        ({"TABEL": "user"}, {}, "strangler.E106"),
        ({"LOGIN_FIELD": "id"}, {}, "strangler.E107"),
        ({"LOGIN_FIELD": "email", "EMAIL": None}, {}, "strangler.E107"),
        ({"DATABASE": "legacy"}, {}, "strangler.E108"),
        (
            {},
            {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]},
            "strangler.E109",
        ),
        (
            {},
            {"PASSWORD_HASHERS": [WERKZEUG, "django.contrib.auth.hashers.PBKDF2PasswordHasher"]},
            "strangler.E110",
        ),
        (
            {},
            {"AUTHENTICATION_BACKENDS": ["django.contrib.auth.backends.ModelBackend"]},
            "strangler.W111",
        ),
    ],
)
def test_legacy_users_misconfiguration_is_reported(
    settings: Any, ed_keys: KeyPair, legacy_users: object, change: dict[str, Any], expected: str
) -> None:
    identity = {"SIGNING_KEY": ed_keys.private, "LEGACY_USERS": legacy_users}
    # One id per problem: the configuration has exactly this one.
    assert ids(settings, identity, **{**legacy_settings(), **change}) == {expected}


def test_a_damaged_pem_on_the_flask_side_is_named_as_such(
    settings: Any, ed_keys: KeyPair, flask_upstream: Any
) -> None:
    app = create_legacy_app(legacy_config(ed_keys.public))
    body = "".join(ed_keys.public.strip().splitlines()[1:-1])  # the armour lost on the way
    app.config["STRANGLER_VERIFYING_KEYS"] = {"k": body}
    flask_upstream(app)
    strangler = {**settings.STRANGLER, "IDENTITY": {"SIGNING_KEY": ed_keys.private}}
    with override_settings(STRANGLER=strangler):
        messages = [m for m in run_checks() if m.id == "strangler.E037"]
    assert len(messages) == 1
    assert "damaged PEM" in messages[0].msg
    assert "HS256" not in messages[0].msg
