"""Keys and token helpers shared by the identity tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from strangler.identity.tokens import (
    TokenSigner,
    TokenVerifier,
    generate_key_pair,
    load_signing_key,
    load_verifying_key,
)


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
