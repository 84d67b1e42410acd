"""Werkzeug's password hashes in Django (strangler/identity/hashers.py).

Every hash here is made by Werkzeug itself (``generate_password_hash``), as
the Flask app stored it, and every hash the hasher makes is checked by
Werkzeug's own ``check_password_hash``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.security import check_password_hash, generate_password_hash

from strangler.identity.hashers import (
    LegacyHashError,
    WerkzeugPasswordHasher,
    split_werkzeug_hash,
    to_django_password,
    to_werkzeug_hash,
)

WERKZEUG = "strangler.identity.hashers.WerkzeugPasswordHasher"
# Cheap Werkzeug methods for most tests; the defaults are tested once each.
METHODS = ["scrypt:1024:8:1", "pbkdf2:sha256:1000", "pbkdf2:sha512:1000", "pbkdf2:sha1:1000"]


@pytest.fixture(autouse=True)
def hashers(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", WERKZEUG]


def stored(werkzeug_hash: str) -> str:
    """The hash as Django keeps it; a hash it refuses to convert is kept as-is (and fails)."""
    try:
        return to_django_password(werkzeug_hash)
    except LegacyHashError:
        return f"werkzeug${werkzeug_hash}"


@pytest.mark.parametrize("method", [*METHODS, "scrypt"])
def test_werkzeug_hashes_verify(method: str) -> None:
    legacy = generate_password_hash("correct horse ✓", method=method)
    assert check_password("correct horse ✓", stored(legacy))
    assert not check_password("correct horse", stored(legacy))
    assert not check_password("", stored(legacy))
    assert isinstance(identify_hasher(stored(legacy)), WerkzeugPasswordHasher)


def test_a_legacy_hash_is_upgraded_on_a_correct_password() -> None:
    legacy = stored(generate_password_hash("pw", method=METHODS[0]))
    upgraded: list[str] = []
    assert not check_password("wrong", legacy, setter=upgraded.append)
    assert upgraded == []
    assert check_password("pw", legacy, setter=upgraded.append)
    assert upgraded == ["pw"]  # Django re-hashes it with its preferred hasher


def test_the_hasher_makes_hashes_werkzeug_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WerkzeugPasswordHasher, "iterations", 1000)  # speed only
    encoded = make_password("give it back", hasher="werkzeug")
    assert encoded.startswith("werkzeug$pbkdf2:sha256:1000$")
    assert check_password_hash(to_werkzeug_hash(encoded), "give it back")
    assert not check_password_hash(to_werkzeug_hash(encoded), "something else")


@pytest.mark.parametrize("method", [*METHODS, "scrypt"])
def test_werkzeug_hashes_convert_to_djangos_form_and_back(method: str) -> None:
    legacy = generate_password_hash("pw", method=method)
    encoded = to_django_password(legacy)
    assert check_password_hash(to_werkzeug_hash(encoded), "pw")
    assert to_werkzeug_hash(encoded).split("$")[1:] == legacy.split("$")[1:]


@pytest.mark.parametrize(
    ("method", "digest_bytes", "fits"),
    [
        # Werkzeug's defaults (3.x scrypt, 3.1 and 2.3 pbkdf2) fit Django's 128 characters ...
        ("scrypt:32768:8:1", 64, True),
        ("pbkdf2:sha256:1000000", 32, True),
        ("pbkdf2:sha256:600000", 32, True),
        # ... unusual parameters and sha512 digests do not (LegacyUserBackend reads those).
        ("scrypt:16384:8:1", 64, False),
        ("pbkdf2:sha512:600000", 64, False),
    ],
)
def test_which_werkzeug_hashes_fit_djangos_password_column(
    method: str, digest_bytes: int, fits: bool
) -> None:
    # In hex a scrypt hash is 162 characters; auth_user.password holds 128.
    legacy = f"{method}$" + "s" * 16 + "$" + "ab" * digest_bytes
    assert (len(to_django_password(legacy)) <= 128) is fits


def test_the_admin_sees_the_method_and_masked_parts() -> None:
    legacy = generate_password_hash("pw", method=METHODS[0])
    summary = WerkzeugPasswordHasher().safe_summary(stored(legacy))
    method, salt, digest = legacy.split("$")
    assert summary["method"] == method
    assert summary["salt"].startswith(salt[:6])
    assert salt not in summary.values()
    assert digest not in summary.values()


@pytest.mark.parametrize(
    "werkzeug_hash",
    [
        "",
        "scrypt",
        "plain$$pw",
        "md5$salt$1bc29b36f623ba82aaf6724fd3b16718",
        "sha256$salt$" + "0" * 64,  # Werkzeug < 2.3's plain methods
        "scrypt:1048576:8:1$salt$00",  # over the cost limit (would need 1 GiB)
        "scrypt:32768:8:64$salt$00",
        "scrypt:x:8:1$salt$00",
        "pbkdf2:sha256:100000000$salt$00",
        "pbkdf2:md5:1000$salt$00",
        "pbkdf2:sha256:1000:9$salt$00",
        "scrypt:1024:8:1$salt",
    ],
)
def test_malformed_or_hostile_hashes_verify_nothing(werkzeug_hash: str) -> None:
    assert not check_password("pw", stored(werkzeug_hash))


@pytest.mark.parametrize(
    "werkzeug_hash",
    [
        # Werkzeug 3.1's defaults, and Werkzeug 2.3's pbkdf2 default.
        "scrypt:32768:8:1$salt$00",
        "pbkdf2:sha256:1000000$salt$00",
        "pbkdf2:sha256:600000$salt$00",
        "pbkdf2:sha256$salt$00",
        "scrypt$salt$00",
    ],
)
def test_the_cost_limits_admit_werkzeugs_defaults(werkzeug_hash: str) -> None:
    name, *_ = split_werkzeug_hash(werkzeug_hash)
    assert name == werkzeug_hash.split(":")[0].split("$")[0]


def test_a_hash_of_another_algorithm_is_not_verified() -> None:
    md5 = make_password("pw", hasher="md5")
    assert not WerkzeugPasswordHasher().verify("pw", md5)


# --- properties: any password, any salt Werkzeug makes ---------------------------------


# No NUL: PBKDF2 pads an HMAC key with zeros, so "" and "\x00" are one key (Werkzeug's
# own check agrees), and Django's login form refuses NUL characters before any hasher runs.
# A password Werkzeug hashed is valid UTF-8; what is typed at login may not be (a lone
# surrogate in a JSON body).
_hashed = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=64)
_typed = st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=64)


def test_a_password_with_no_utf8_form_matches_nothing() -> None:
    encoded = to_django_password(generate_password_hash("", method="pbkdf2:sha256:10"))
    assert WerkzeugPasswordHasher().verify("\ud800", encoded) is False


@given(password=_hashed, other=_typed)
@settings(max_examples=60, deadline=None)
def test_any_password_verifies_exactly_itself_after_the_round_trip(
    password: str, other: str
) -> None:
    legacy = generate_password_hash(password, method="pbkdf2:sha256:10")
    encoded = to_django_password(legacy)
    assert len(encoded) <= 128
    assert to_werkzeug_hash(encoded) == legacy
    hasher = WerkzeugPasswordHasher()
    assert hasher.verify(password, encoded)
    assert hasher.verify(other, encoded) is (other == password)


@given(garbage=st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_no_stored_value_makes_the_hasher_raise(garbage: str) -> None:
    # Whatever sits in the password column, a login attempt is a clean "no".
    assert WerkzeugPasswordHasher().verify("pw", "werkzeug$" + garbage) is False
