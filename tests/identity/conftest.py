"""Keys and token helpers shared by the identity tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

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


@pytest.fixture
def client() -> Iterator[Client]:
    """Django's test client, closing every (streamed, forwarded) response at the end."""
    client = Client()
    responses: list[Any] = []
    request = client.request

    def tracked(**kwargs: Any) -> Any:
        response = request(**kwargs)
        responses.append(response)
        return response

    client.request = tracked  # type: ignore[method-assign]
    yield client
    for response in responses:
        response.close()
