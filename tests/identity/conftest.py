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
