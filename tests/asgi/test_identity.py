"""The identity token under ASGI, HTTP and WebSocket alike (here: the anonymous token)."""

from __future__ import annotations

import http.client
import json
import secrets
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from strangler.identity.tokens import (
    ANY_REQUEST,
    TokenVerifier,
    bound_target,
    load_verifying_key,
)
from tests.asgi.fronts import AsgiFront, start_asgi_front
from tests.upstream import RunningServer

pytestmark = pytest.mark.timeout(60)

SECRET = secrets.token_hex(32)


@pytest.fixture(scope="module")
def signing_front(live_upstream: RunningServer) -> Iterator[AsgiFront]:
    """An ASGI front that signs an identity token (HS256) for every forwarded request."""
    with start_asgi_front(
        live_upstream.url, extra_env={"STRANGLER_TEST_SIGNING_KEY": SECRET}
    ) as front:
        yield front


def verifier() -> TokenVerifier:
    return TokenVerifier(
        [load_verifying_key(SECRET)], algorithms=["HS256"], issuer="django", audience="flask"
    )


def token_in(headers: list[list[str]]) -> str:
    tokens = [value for name, value in headers if name.lower() == "x-strangler-identity-token"]
    assert len(tokens) == 1, headers
    return tokens[0]


def test_forwarded_request_carries_the_anonymous_token(signing_front: AsgiFront) -> None:
    # No session cookie: the process's one anonymous token, in place of the forged one.
    conn = http.client.HTTPConnection("127.0.0.1", signing_front.port, timeout=30)
    conn.request("POST", "/echo?x=1", body=b"{}", headers={"X-Strangler-Identity-Token": "forged"})
    token = token_in(json.loads(conn.getresponse().read())["headers"])
    conn.close()
    claims = verifier().verify(token, method="POST", binding=bound_target("/echo?x=1"))
    assert (claims["anonymous"], claims["req"]) == (True, ANY_REQUEST)
    assert "sub" not in claims


def test_websocket_handshake_carries_the_same_anonymous_token(signing_front: AsgiFront) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", signing_front.port, timeout=30)
    conn.request("GET", "/echo")
    over_http = token_in(json.loads(conn.getresponse().read())["headers"])
    conn.close()
    with connect(
        f"ws://127.0.0.1:{signing_front.port}/ws/echo?room=7",
        additional_headers={"X-Strangler-Identity-Token": "forged"},
    ) as ws:
        token = token_in(json.loads(ws.recv())["headers"])
    assert token == over_http  # one per process, whatever the request
    claims = verifier().verify(token, method="GET", binding=bound_target("/ws/echo?room=7"))
    assert (claims["anonymous"], claims["req"]) == (True, ANY_REQUEST)
