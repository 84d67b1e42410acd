"""Redaction before storing (strangler/shadow/redact.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler.shadow.redact import (
    REDACTED,
    redact_body,
    redact_headers,
    redact_json,
    redact_target,
    redact_text,
)

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(
    "name",
    [
        "Cookie",
        "Set-Cookie",
        "Authorization",
        "Proxy-Authorization",
        "X-Strangler-Identity-Token",
        "X-Api-Key",
        "X-CSRFToken",
        "X-Session-Id",
        "X-Auth-Token",
    ],
)
def test_credential_headers_are_redacted(name: str) -> None:
    assert redact_headers([(name, "s3cret"), ("Accept", "text/html")]) == [
        [name, REDACTED],
        ["Accept", "text/html"],
    ]


def test_configured_names_are_redacted_too() -> None:
    assert redact_headers([("X-Tenant", "acme")], extra=["x-tenant"]) == [["X-Tenant", REDACTED]]


def test_query_parameters_and_json_keys() -> None:
    assert redact_target("/p?q=1&access_token=abc&password=pw") == (
        "/p?q=1&access_token=[redacted]&password=[redacted]"
    )
    document = {"user": {"name": "ada", "api_key": "k"}, "list": [{"refresh_token": "t"}]}
    assert redact_json(document) == {
        "user": {"name": "ada", "api_key": REDACTED},
        "list": [{"refresh_token": REDACTED}],
    }


def test_jwts_and_secret_pairs_in_free_text() -> None:
    text = f"Bearer {JWT}; sessionid=abc123; csrfmiddlewaretoken=zzz; name=ada"
    cleaned = redact_text(text)
    for secret in (JWT, "abc123", "zzz"):
        assert secret not in cleaned
    assert "name=ada" in cleaned


def test_bodies_are_redacted_before_they_are_cut() -> None:
    html = b"<p>" + b"x" * 95 + f"<input name=csrf_token value={JWT}>".encode()
    stored = redact_body(html, "text/html", limit=110)
    assert "eyJ" not in stored
    assert "more characters not stored" in stored
    assert redact_body(b"\x89PNG\x00\xff", "image/png", limit=10) == "[6 bytes of binary data]"
    assert json.loads(redact_body(b'{"token": "t", "a": 1}', "application/json", 100)) == {
        "token": REDACTED,
        "a": 1,
    }


secret_keys = st.sampled_from(["token", "password", "api_key", "sessionid", "Authorization"])
json_values = st.recursive(
    st.text(max_size=5) | st.integers(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values, secret_keys, st.text(alphabet="abcdefghijklmnop0123456789", min_size=12))
def test_a_secret_keyed_value_never_survives_at_any_depth(
    document: object, key: str, secret: str
) -> None:
    nested = {"outer": [document, {key: secret}]}
    assert secret not in json.dumps(redact_json(nested))
    body = json.dumps(nested).encode()
    assert secret not in redact_body(body, "application/json", limit=10_000)
