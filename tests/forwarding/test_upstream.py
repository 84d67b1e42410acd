from __future__ import annotations

import pytest

from strangler.forwarding.upstream import (
    HttpUpstream,
    UpstreamConfigError,
    WsgiUpstream,
    parse_upstream,
)


def test_http_upstream() -> None:
    upstream = parse_upstream("http://127.0.0.1:5000/legacy/")
    assert upstream == HttpUpstream("http", "127.0.0.1", 5000, "/legacy")
    assert isinstance(upstream, HttpUpstream)
    assert upstream.netloc == "127.0.0.1:5000"
    assert str(upstream) == "http://127.0.0.1:5000/legacy"


def test_default_ports_are_left_out_of_the_host_header() -> None:
    upstream = parse_upstream("https://flask.internal")
    assert isinstance(upstream, HttpUpstream)
    assert (upstream.port, upstream.netloc) == (443, "flask.internal")


def test_ipv6_host() -> None:
    upstream = parse_upstream("http://[::1]:8080")
    assert isinstance(upstream, HttpUpstream)
    assert upstream.netloc == "[::1]:8080"


def test_wsgi_upstream() -> None:
    assert parse_upstream("wsgi:legacy.app:app") == WsgiUpstream("legacy.app", "app")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "must be a URL"),
        ("", "must be a URL"),
        ("127.0.0.1:5000", "must start with http"),
        ("ftp://host", "must start with http"),
        ("http://", "has no host"),
        ("http://user:pw@host", "must not carry credentials"),
        ("http://host/?a=1", "must not have a query"),
        ("http://host/#frag", "must not have a query"),
        ("http://host:99999", "not a valid URL"),
        ("wsgi:legacy.app", "must look like"),
        ("wsgi:legacy app:app", "must look like"),
    ],
)
def test_bad_upstreams_are_refused_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(UpstreamConfigError, match=message):
        parse_upstream(value)


def test_wsgi_upstream_load_errors_name_the_problem() -> None:
    with pytest.raises(UpstreamConfigError, match="cannot import module 'no_such_module'"):
        WsgiUpstream("no_such_module", "app").load()
    with pytest.raises(UpstreamConfigError, match="has no attribute 'missing'"):
        WsgiUpstream("tests.legacy_wsgi", "missing").load()
    with pytest.raises(UpstreamConfigError, match="not a WSGI callable"):
        WsgiUpstream("tests.legacy_wsgi", "not_callable").load()
