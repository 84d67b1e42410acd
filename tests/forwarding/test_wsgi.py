"""The in-process transport: the Flask WSGI app called directly, no socket."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from tests import legacy_wsgi
from tests.conftest import close_responses


@pytest.fixture(autouse=True)
def in_process(settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": "wsgi:tests.legacy_wsgi:app"}
    legacy_wsgi.closed.clear()
    legacy_wsgi.environs.clear()


def test_full_path_is_kept_in_path_info(client: Client) -> None:
    response = client.get("/legacy/deep/path", {"a": "1"})
    data = json.loads(response.getvalue())
    assert data["path"] == "/legacy/deep/path"
    assert data["script_name"] == ""
    assert data["query_string"] == "a=1"
    environ = legacy_wsgi.environs[-1]
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/legacy/deep/path"
    assert environ["RAW_URI"] == "/legacy/deep/path?a=1"


def test_non_ascii_path_is_a_wsgi_string(client: Client) -> None:
    response = client.get("/legacy/caf%C3%A9")
    assert json.loads(response.getvalue())["path"] == "/legacy/caf\u00e9"
    # PEP 3333: PATH_INFO carries the bytes as latin-1 code points.
    assert legacy_wsgi.environs[-1]["PATH_INFO"] == "/legacy/caf\u00c3\u00a9"


def test_close_is_called_on_the_response_iterable(client: Client) -> None:
    response = client.get("/legacy/x")
    response.getvalue()
    assert legacy_wsgi.closed == ["/legacy/x"]


def test_close_is_called_when_the_client_stops_reading(client: Client) -> None:
    response = client.get("/stream", {"size": str(10 * 65536)})
    next(iter(response.streaming_content))  # type: ignore[attr-defined]
    close_responses(response)
    assert legacy_wsgi.closed == ["/stream"]


def test_streaming_is_preserved(client: Client) -> None:
    size = 40 * 65536 + 5
    response = client.get("/stream", {"size": str(size)})
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    assert len(chunks) > 1
    assert sum(map(len, chunks)) == size


def test_body_and_headers_match_the_http_transport_rules(client: Client) -> None:
    body = b"\x00\xff" * 100_000
    response = client.post(
        "/legacy/upload",
        data=body,
        content_type="application/octet-stream",
        HTTP_CONNECTION="X-Hop",
        HTTP_X_HOP="1",
        HTTP_X_STRANGLER_IDENTITY_TOKEN="forged",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        REMOTE_ADDR="198.51.100.1",
    )
    data = json.loads(response.getvalue())
    assert data["body_sha256"] == hashlib.sha256(body).hexdigest()
    headers = {name.lower(): value for name, value in data["headers"]}
    assert "x-hop" not in headers
    assert "x-strangler-identity-token" not in headers
    assert headers["x-forwarded-for"] == "198.51.100.1"
    assert headers["host"] == "testserver"


def test_repeated_headers_and_cookies_are_kept(client: Client) -> None:
    response = client.get("/cookies")
    cookies = [v for n, v in response.items() if n == "Set-Cookie"]
    # In-process there is no upstream host, so the Domain attribute stays as Flask set it.
    assert cookies == [
        "a=1; Path=/; HttpOnly",
        "b=two words; Partitioned; Priority=High; SameSite=None; Secure",
        "c=3; Domain=127.0.0.1; Path=/",
    ]
    response.getvalue()


def test_lazy_start_response(client: Client, settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": "wsgi:tests.legacy_wsgi:lazy_app"}
    response = client.get("/anything")
    assert response.status_code == 203
    assert response.reason_phrase == "Lazy Start"
    assert [v for n, v in response.items() if n == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.getvalue() == b"first second"


def test_crashing_app_is_a_502_not_a_django_500(client: Client, settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": "wsgi:tests.legacy_wsgi:failing_app"}
    response = client.get("/anything", HTTP_ACCEPT="application/json")
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unavailable"
