from __future__ import annotations

import io

import pytest

from strangler.forwarding.errors import BadRequestBody
from strangler.forwarding.messages import (
    as_django_reads,
    build_upstream_request,
    request_body,
    request_target,
)


def environ(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(b""),
    }
    base.update(extra)
    return base


@pytest.mark.parametrize(
    ("raw", "path_info", "query", "expected"),
    [
        ("/a%2fb?x=%2F", "/a/b", "x=%2F", "/a%2fb?x=%2F"),
        ("/flag?", "/flag", "", "/flag?"),
        # absolute-form: never used, rebuilt from PATH_INFO
        ("http://evil.example/x?q", "/x", "q", "/x?q"),
        # raw form disagreeing with what the server parsed: rebuilt
        ("/other", "/x", "", "/x"),
        ("/with space", "/with space", "", "/with%20space"),
    ],
)
def test_request_target_prefers_a_consistent_raw_uri(
    raw: str, path_info: str, query: str, expected: str
) -> None:
    env = environ(RAW_URI=raw, PATH_INFO=path_info, QUERY_STRING=query)
    assert request_target(env) == expected


def test_request_target_rebuilt_without_raw_uri_is_utf8_percent_encoded() -> None:
    env = environ(PATH_INFO="/caf\u00e9/100%/a b", QUERY_STRING="q=1")
    assert request_target(env) == "/caf%C3%A9/100%25/a%20b?q=1"


def test_request_target_drops_the_fronts_mount_prefix() -> None:
    env = environ(SCRIPT_NAME="/app", PATH_INFO="/x", RAW_URI="/app/x?y")
    env["QUERY_STRING"] = "y"
    assert request_target(env) == "/x?y"


def test_body_with_content_length_is_read_exactly() -> None:
    env = environ(CONTENT_LENGTH="5", **{"wsgi.input": io.BytesIO(b"12345EXTRA")})
    chunks, length = request_body(env, chunk_size=2)
    assert length == 5
    assert chunks is not None
    assert list(chunks) == [b"12", b"34", b"5"]


@pytest.mark.parametrize("value", ["abc", "-1", "1e3"])
def test_bad_content_length_is_refused(value: str) -> None:
    with pytest.raises(BadRequestBody, match="invalid Content-Length") as info:
        request_body(environ(CONTENT_LENGTH=value), chunk_size=1024)
    assert info.value.status == 400


def test_chunked_body_needs_a_terminated_input() -> None:
    env = environ(HTTP_TRANSFER_ENCODING="chunked")
    with pytest.raises(BadRequestBody) as info:
        request_body(env, chunk_size=1024)
    assert info.value.status == 411
    env.update({"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"abc")})
    chunks, length = request_body(env, chunk_size=1024)
    assert length is None
    assert chunks is not None
    assert b"".join(chunks) == b"abc"


def test_chunked_request_loses_its_content_length_header() -> None:
    env = environ(
        REQUEST_METHOD="POST",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_CONTENT_LENGTH="999",
        **{"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"abc")},
    )
    request = build_upstream_request(
        env, host="front", scheme="http", chunk_size=1024, forwarded_headers=False
    )
    assert request.content_length is None
    assert all(
        name.lower() not in ("content-length", "transfer-encoding") for name, _ in request.headers
    )
    assert not request.idempotent


@pytest.mark.parametrize(
    ("raw", "django_path"),
    [
        ("/caf%E9", "/caf%E9"),
        ("/caf%C3%A9", "/caf\u00e9"),
        ("/caf\xe9", "/caf%E9"),
        ("/a%2fb", "/a/b"),
        ("/x%FF/%C3%A9", "/x%FF/\u00e9"),
    ],
)
def test_as_django_reads(raw: str, django_path: str) -> None:
    assert as_django_reads(raw) == django_path


def test_a_non_utf8_raw_target_is_kept() -> None:
    # Django's PATH_INFO re-escapes the byte that is not UTF-8; the raw form still matches it.
    env = environ(RAW_URI="/caf%E9?q=%E9", PATH_INFO="/caf%E9", QUERY_STRING="q=%E9")
    assert request_target(env) == "/caf%E9?q=%E9"
