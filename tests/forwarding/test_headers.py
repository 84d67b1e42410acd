from __future__ import annotations

import pytest

from strangler.forwarding.headers import (
    add_forwarded_headers,
    environ_key,
    filter_response_headers,
    headers_from_environ,
    rewrite_location,
    strip_cookie_domain,
)


@pytest.mark.parametrize(
    "spelling",
    ["X-Strangler-Identity-Token", "x-strangler-identity-token", "X_STRANGLER_IDENTITY_TOKEN"],
)
def test_every_spelling_of_a_header_lands_on_one_environ_key(spelling: str) -> None:
    assert environ_key(spelling) == "HTTP_X_STRANGLER_IDENTITY_TOKEN"


def test_headers_from_environ_drops_hop_by_hop_and_stripped() -> None:
    environ = {
        "HTTP_HOST": "front",
        "HTTP_CONNECTION": "keep-alive, X-Drop-Me",
        "HTTP_X_DROP_ME": "1",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_EXPECT": "100-continue",
        "HTTP_X_SECRET": "forged",
        "HTTP_ACCEPT_LANGUAGE": "fr",
        "HTTP_X_EMPTY": "",
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": "",
        "wsgi.input": object(),
        "REMOTE_ADDR": "1.2.3.4",
    }
    assert headers_from_environ(environ, strip=["x-secret"]) == [
        ("Accept-Language", "fr"),
        ("X-Empty", ""),
        ("Content-Type", "text/plain"),
    ]


def test_forwarded_for_is_appended_and_the_rest_replaced() -> None:
    headers = [("X-Forwarded-For", "10.0.0.1"), ("X-Forwarded-Host", "evil"), ("Accept", "*/*")]
    result = add_forwarded_headers(
        headers, client_addr="192.0.2.1", proto="https", host="front", prefix=""
    )
    assert result == [
        ("Accept", "*/*"),
        ("X-Forwarded-For", "10.0.0.1, 192.0.2.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "front"),
    ]


def test_response_hop_by_hop_filtered_including_connection_tokens() -> None:
    headers = [
        ("Connection", "close, X-Internal"),
        ("X-Internal", "1"),
        ("Transfer-Encoding", "chunked"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    assert filter_response_headers(headers) == [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://up:5000/a?b=1", "https://front/app/a?b=1"),
        ("http://up:5000", "https://front/app/"),
        ("http://up:5000?x", "https://front/app?x"),
        ("http://up:50001/a", "http://up:50001/a"),  # another port is another origin
        ("http://up:5000.evil/a", "http://up:5000.evil/a"),
        ("/relative", "/relative"),
        ("https://elsewhere/", "https://elsewhere/"),
    ],
)
def test_rewrite_location(location: str, expected: str) -> None:
    front = "https://front/app"
    assert (
        rewrite_location(location, upstream_origin="http://up:5000", base_path="", front=front)
        == expected
    )


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        ("a=1; Domain=up.internal; Path=/", "a=1; Path=/"),
        ("a=1; domain=.UP.internal", "a=1"),
        ("a=1; Domain=example.com; Path=/", "a=1; Domain=example.com; Path=/"),
        ("domain=1; Path=/", "domain=1; Path=/"),  # a cookie *named* domain is not the attribute
        ("a=1; Partitioned; Weird=x", "a=1; Partitioned; Weird=x"),
    ],
)
def test_strip_cookie_domain(cookie: str, expected: str) -> None:
    assert strip_cookie_domain(cookie, "up.internal") == expected
