from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler.forwarding.headers import (
    HOP_BY_HOP,
    add_forwarded_headers,
    client_response_headers,
    connection_tokens,
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


# --- the one-pass header functions against their plain two-pass readings ----------------------

_header_names = st.sampled_from(
    [
        "Connection",
        "connection",
        "Keep-Alive",
        "TE",
        "Transfer-Encoding",
        "Upgrade",
        "X-Forwarded-For",
        "x-forwarded-FOR",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Forwarded-Prefix",
        "X-Forwarded-Port",
        "Location",
        "LOCATION",
        "Set-Cookie",
        "X-Secret",
        "x-secret",
        "Content-Type",
        "Server",
    ]
)
_header_values = st.sampled_from(
    [
        "",
        "close",
        "keep-alive, X-Secret",
        " x-secret ,, Server",
        "Location",
        "1.2.3.4",
        "http://up:5000/a",
        "http://up:5000",
        "/relative",
        "a=1; Domain=up; Path=/",
        "a=1; domain=.UP",
        "text/html",
    ]
)
_header_lists = st.lists(st.tuples(_header_names, _header_values), max_size=8)


def reference_filter(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    dropped = set(HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == "connection":
            dropped |= connection_tokens(value)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


@given(
    headers=_header_lists,
    rewrite=st.booleans(),
    cookies=st.booleans(),
    origin=st.sampled_from([None, "http://up:5000"]),
    added=st.dictionaries(_header_names, _header_values, max_size=3),
)
def test_client_response_headers_agree_with_filter_then_rewrite(
    headers: list[tuple[str, str]],
    rewrite: bool,
    cookies: bool,
    origin: str | None,
    added: dict[str, str],
) -> None:
    expected = reference_filter(headers)
    if origin is not None and (rewrite or cookies):
        rewritten = []
        for name, value in expected:
            if rewrite and name.lower() == "location":
                value = rewrite_location(value, upstream_origin=origin, base_path="", front="F")
            elif cookies and name.lower() == "set-cookie":
                value = strip_cookie_domain(value, "up")
            rewritten.append((name, value))
        expected = rewritten
    present = {name.lower() for name, _ in expected}
    expected += [(name, value) for name, value in added.items() if name.lower() not in present]
    assert filter_response_headers(headers) == reference_filter(headers)
    assert (
        client_response_headers(
            headers,
            upstream_origin=origin,
            upstream_host="up",
            front="F",
            rewrite_location_header=rewrite,
            rewrite_cookie_domain=cookies,
            added=added,
        )
        == expected
    )


@given(headers=_header_lists, client=st.sampled_from(["", "10.0.0.1"]))
def test_add_forwarded_headers_agrees_with_its_two_pass_reading(
    headers: list[tuple[str, str]], client: str
) -> None:
    previous = [value for name, value in headers if name.lower() == "x-forwarded-for"]
    kept = [
        (name, value)
        for name, value in headers
        if name.lower()
        not in {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-prefix"}
    ]
    chain = ", ".join([*previous, client] if client else previous)
    expected = [*kept, *([("X-Forwarded-For", chain)] if chain else [])]
    expected += [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "front")]
    assert (
        add_forwarded_headers(headers, client_addr=client, proto="https", host="front", prefix="")
        == expected
    )


def test_every_connection_header_names_fields_to_drop() -> None:
    headers = [("Connection", "X-A"), ("X-A", "1"), ("connection", "x-b"), ("X-B", "2")]
    headers.append(("X-C", "3"))
    assert filter_response_headers(headers) == [("X-C", "3")]
