"""Forwarding through Django's test client to a real Flask server (HTTP transport)."""

from __future__ import annotations

import gzip
import json
import logging

import pytest
from django.test import Client

from tests.upstream import GZIP_BODY, RunningServer

pytestmark = pytest.mark.usefixtures("forward_to")


def echo(response) -> dict:
    assert response["X-Upstream"] == "flask", response
    return json.loads(response.getvalue())


def test_unported_path_is_answered_by_flask(client: Client) -> None:
    response = client.get("/legacy/page")
    assert response.status_code == 200
    assert echo(response)["path"] == "/legacy/page"


def test_ported_path_is_answered_by_django(client: Client) -> None:
    response = client.get("/ported/")
    assert response.content == b"answered by django"


def test_django_404_for_a_ported_route_stays_djangos(client: Client) -> None:
    response = client.get("/items/404/")
    assert response.status_code == 404
    assert not response.has_header("X-Upstream")


def test_flask_route_without_slash_is_not_redirected_by_append_slash(client: Client) -> None:
    # Django has /ported/ only; /ported (no slash) must go to Flask, not 301 to /ported/.
    response = client.get("/ported")
    assert response.status_code == 200
    assert echo(response)["path"] == "/ported"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_method_is_forwarded(client: Client, method: str) -> None:
    response = client.generic(method, "/legacy/thing", data=b"payload", content_type="text/plain")
    data = echo(response)
    assert data["method"] == method
    assert data["body_length"] == len(b"payload")


def test_head_is_forwarded_without_a_body(client: Client) -> None:
    response = client.head("/legacy/thing")
    assert response.status_code == 200
    assert response["X-Upstream"] == "flask"
    assert response.getvalue() == b""


@pytest.mark.parametrize(
    "query",
    ["a=1&a=2&b=%2F", "flag", "q=a+b%20c", "x=%E2%9C%93&empty=", "a=%2f%2F"],
)
def test_query_string_passes_unchanged(client: Client, query: str) -> None:
    response = client.get(f"/legacy/q?{query}")
    assert echo(response)["query_string"] == query


def test_body_is_forwarded_intact(client: Client) -> None:
    body = bytes(range(256)) * 4096
    response = client.post("/legacy/upload", data=body, content_type="application/octet-stream")
    data = echo(response)
    assert data["body_length"] == len(body)
    import hashlib

    assert data["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_status_and_reason_are_kept(client: Client) -> None:
    response = client.get("/status/299")
    assert response.status_code == 299
    assert response.reason_phrase == "Custom Reason Here"


def test_repeated_headers_and_cookies_are_kept_exactly(client: Client) -> None:
    response = client.get("/cookies")
    cookies = [value for name, value in response.items() if name.lower() == "set-cookie"]
    assert cookies == [
        "a=1; Path=/; HttpOnly",
        "b=two words; Partitioned; Priority=High; SameSite=None; Secure",
        "c=3; Path=/",  # Domain=127.0.0.1 (the upstream) removed: the cookie is the front's
    ]
    response = client.get("/repeated")
    items = list(response.items())
    assert [v for n, v in items if n == "Link"] == ["</a>; rel=preload", "</b>; rel=preload"]
    assert [v for n, v in items if n == "X-Multi"] == ["one", "two"]
    assert ("X-Odd-Bytes", "caf\u00e9") in items


def test_gzip_bodies_are_not_decompressed(client: Client) -> None:
    response = client.get("/gzip", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    body = response.getvalue()
    assert body == GZIP_BODY
    assert gzip.decompress(body).startswith(b"compressed by flask")


def test_redirects_are_not_followed_and_point_at_the_front(client: Client) -> None:
    response = client.get("/redirect/absolute", HTTP_HOST="front.example")
    assert response.status_code == 302
    assert response["Location"] == "http://front.example/landing?x=1"
    assert client.get("/redirect/relative")["Location"] == "/landing"
    assert client.get("/redirect/elsewhere")["Location"] == "https://other.example/x"


def test_location_rewrite_can_be_switched_off(
    client: Client, settings, upstream: RunningServer
) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "REWRITE_LOCATION": False}
    response = client.get("/redirect/absolute", HTTP_HOST="front.example")
    assert response["Location"] == f"{upstream.url}/landing?x=1"


def test_no_django_middleware_header_or_cookie_is_added(client: Client) -> None:
    response = client.get("/cookies")
    names = {name.lower() for name, _ in response.items()}
    for added_by_django in (
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "cross-origin-opener-policy",
        "vary",
    ):
        assert added_by_django not in names
    assert "csrftoken" not in response.cookies
    assert "sessionid" not in response.cookies
    # ...while Django's own pages still get them.
    assert client.get("/ported/")["X-Frame-Options"] == "DENY"


def test_response_headers_opt_in_per_header(client: Client, settings) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "RESPONSE_HEADERS": {"X-Frame-Options": "SAMEORIGIN"},
    }
    assert client.get("/legacy/x")["X-Frame-Options"] == "SAMEORIGIN"


def test_hop_by_hop_response_headers_are_dropped(client: Client) -> None:
    response = client.get("/hop")
    names = {name.lower() for name, _ in response.items()}
    assert "connection" not in names
    assert "keep-alive" not in names
    assert "x-private" not in names  # named by Connection


def test_hop_by_hop_request_headers_are_dropped(client: Client) -> None:
    response = client.get(
        "/legacy/x",
        HTTP_CONNECTION="X-Secret-Hop",
        HTTP_X_SECRET_HOP="1",
        HTTP_KEEP_ALIVE="timeout=5",
        HTTP_TE="trailers",
        HTTP_UPGRADE="websocket",
        HTTP_PROXY_AUTHORIZATION="Basic Zm9vOmJhcg==",
        HTTP_X_KEPT="yes",
    )
    headers = {name.lower(): value for name, value in echo(response)["headers"]}
    for dropped in ("x-secret-hop", "keep-alive", "te", "upgrade", "proxy-authorization"):
        assert dropped not in headers
    assert headers["x-kept"] == "yes"


def test_forwarded_headers(client: Client, upstream: RunningServer) -> None:
    response = client.get(
        "/legacy/x",
        HTTP_HOST="front.example",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_X_FORWARDED_PROTO="https",
        REMOTE_ADDR="198.51.100.2",
    )
    headers = {name.lower(): value for name, value in echo(response)["headers"]}
    # The client is no trusted proxy: its X-Forwarded-For is a lie, replaced by its address.
    assert headers["x-forwarded-for"] == "198.51.100.2"
    assert headers["x-forwarded-host"] == "front.example"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["host"] == f"127.0.0.1:{upstream.port}"
    assert "x-forwarded-prefix" not in headers


def test_identity_header_from_a_client_never_reaches_flask(client: Client) -> None:
    response = client.get(
        "/legacy/x",
        HTTP_X_STRANGLER_IDENTITY_TOKEN="forged",
    )
    headers = {name.lower() for name, _ in echo(response)["headers"]}
    assert "x-strangler-identity-token" not in headers


def test_disallowed_host_is_refused_not_forwarded(client: Client, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="django.security.DisallowedHost"):
        response = client.get("/legacy/x", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not response.has_header("X-Upstream")


def test_no_header_is_invented(client: Client) -> None:
    headers = {name.lower() for name, _ in echo(client.get("/legacy/x"))["headers"]}
    assert "user-agent" not in headers
    assert "accept-encoding" not in headers


def test_preserve_host_sends_the_clients_host(client: Client, settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "PRESERVE_HOST": True}
    response = client.get("/legacy/x", HTTP_HOST="front.example")
    headers = {name.lower(): value for name, value in echo(response)["headers"]}
    assert headers["host"] == "front.example"


def test_explicit_rules_win_over_the_urlconf(client: Client, settings) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "ROUTES": {"/items/7/": "flask", "/legacy/ported-here": "django"},
    }
    assert echo(client.get("/items/7/"))["path"] == "/items/7/"
    assert client.get("/items/8/").json() == {"id": 8, "by": "django"}
    # Sent to Django by rule: Django's URLconf has no such view, so Django's 404.
    response = client.get("/legacy/ported-here")
    assert response.status_code == 404
    assert not response.has_header("X-Upstream")


def test_mounted_front_sends_its_prefix(client: Client) -> None:
    response = client.get("/legacy/x", SCRIPT_NAME="/app")
    headers = {name.lower(): value for name, value in echo(response)["headers"]}
    assert headers["x-forwarded-prefix"] == "/app"


def test_a_trusted_proxys_forwarding_headers_are_kept_and_appended_to(
    client: Client, settings
) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "TRUSTED_PROXIES": ["198.51.100.0/24"]}
    response = client.get(
        "/legacy/x",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        HTTP_X_REAL_IP="203.0.113.7",
        HTTP_FORWARDED="for=203.0.113.7;proto=https",
        HTTP_X_FORWARDED_HOST="evil.example",
        HTTP_X_ORIGINAL_URL="/admin",
        REMOTE_ADDR="198.51.100.2",
    )
    headers = {name.lower(): value for name, value in echo(response)["headers"]}
    assert headers["x-forwarded-for"] == "203.0.113.7, 198.51.100.2"
    assert headers["x-real-ip"] == "203.0.113.7"
    assert headers["forwarded"] == "for=203.0.113.7;proto=https"
    assert headers["x-forwarded-host"] == "testserver"  # what Django decided, not the proxy
    assert "x-original-url" not in headers  # never, whoever sends it


def test_forwarded_headers_can_be_switched_off(client: Client, settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "FORWARDED_HEADERS": False}
    response = client.get("/legacy/x", HTTP_X_FORWARDED_FOR="203.0.113.7")
    headers = {name.lower(): value for name, value in echo(response)["headers"]}
    assert "x-forwarded-for" not in headers  # the client's is still a lie
    assert "x-forwarded-host" not in headers


def test_unknown_methods_are_forwarded_too(client: Client) -> None:
    response = client.generic("PROPFIND", "/legacy/x")
    # Flask's own answer: its echo route does not allow PROPFIND.
    assert response.status_code == 405
    assert "GET" in response["Allow"]
