"""``forwarding/exchange.py``: what both HTTP transports decide alike, apart from I/O."""

from __future__ import annotations

import pytest

from strangler.forwarding.errors import (
    BadRequestBody,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from strangler.forwarding.exchange import (
    ClosedBeforeAnswer,
    SwitchedProtocols,
    answer_failure,
    attempts,
    client_framing,
    connect_failure,
    encode_head,
    is_final,
    may_send_again,
    reusable_after,
)
from strangler.forwarding.http11 import InvalidResponse, parse_response_head
from strangler.forwarding.messages import UpstreamRequest


def request(method: str = "GET", content_length: int | None = None) -> UpstreamRequest:
    return UpstreamRequest(method=method, target="/x", headers=[], content_length=content_length)


def head(text: bytes, method: str = "GET"):
    return parse_response_head(text, request_method=method)


def test_encode_head_frames_a_body_without_length_as_chunked() -> None:
    data, chunked = encode_head(request("POST"), "up:5000", has_body=True)
    assert chunked
    assert data.endswith(b"Transfer-Encoding: chunked\r\n\r\n")
    data, chunked = encode_head(request("POST", content_length=3), "up:5000", has_body=True)
    assert not chunked
    assert b"Content-Length: 3\r\n" in data


def test_encode_head_refuses_an_unsendable_request_with_400() -> None:
    with pytest.raises(BadRequestBody) as refused:
        encode_head(request("GE T"), "up", has_body=False)
    assert refused.value.status == 400


def test_only_idempotent_requests_get_more_attempts() -> None:
    assert attempts(request("GET"), retries=2) == 3
    assert attempts(request("POST"), retries=2) == 1
    assert attempts(request("GET"), retries=-1) == 1


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (TimeoutError(), UpstreamTimeout, "did not accept the connection in time"),
        (ConnectionRefusedError(), UpstreamUnreachable, "refused the connection"),
        (OSError("no route"), UpstreamUnreachable, "could not be reached"),
    ],
)
def test_connect_failures(exc: OSError, kind: type, reason: str) -> None:
    failure = connect_failure(exc)
    assert type(failure) is kind
    assert reason in failure.reason


@pytest.mark.parametrize(
    ("exc", "reused", "has_body", "idempotent", "again"),
    [
        (ClosedBeforeAnswer(), True, False, True, True),
        (ConnectionResetError(), True, False, True, True),
        (BrokenPipeError(), True, False, True, True),
        (ClosedBeforeAnswer(), False, False, True, False),  # a new connection: it was processed
        (ClosedBeforeAnswer(), True, True, True, False),  # the client's body is consumed
        (ClosedBeforeAnswer(), True, False, False, False),  # not idempotent
        (TimeoutError(), True, False, True, False),  # it may be running
        (InvalidResponse("x"), True, False, True, False),
    ],
)
def test_what_may_be_sent_again(
    exc: Exception, reused: bool, has_body: bool, idempotent: bool, again: bool
) -> None:
    assert may_send_again(exc, reused=reused, has_body=has_body, idempotent=idempotent) is again


@pytest.mark.parametrize(
    ("exc", "kind", "status", "reason"),
    [
        (TimeoutError(), UpstreamTimeout, 504, "did not answer in time"),
        (ClosedBeforeAnswer(), UpstreamUnavailable, 502, "closed the connection"),
        (ConnectionResetError(), UpstreamUnavailable, 502, "closed the connection"),
        (SwitchedProtocols(), UpstreamUnavailable, 502, "switched protocols"),
        (InvalidResponse("bad"), UpstreamUnavailable, 502, "invalid response"),
        (OSError("other"), UpstreamUnavailable, 502, "invalid response"),
    ],
)
def test_answer_failures(exc: Exception, kind: type, status: int, reason: str) -> None:
    failure = answer_failure(exc)
    assert type(failure) is kind
    assert failure is not None
    assert (failure.status, reason in failure.reason) == (status, True)


def test_a_bad_client_body_is_passed_on_and_other_errors_are_not_failures() -> None:
    bad = BadRequestBody(408, "slow")
    assert answer_failure(bad) is bad
    assert answer_failure(RuntimeError("a bug")) is None


def test_interim_heads_are_dropped_and_101_refused() -> None:
    assert not is_final(head(b"HTTP/1.1 103 Early Hints\r\n\r\n"))
    assert is_final(head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    with pytest.raises(SwitchedProtocols):
        is_final(head(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"))


def test_a_connection_is_pooled_only_after_a_complete_keep_alive_answer() -> None:
    kept = head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    closing = head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
    by_close = head(b"HTTP/1.1 200 OK\r\n\r\n")
    assert reusable_after(kept, complete=True)
    assert not reusable_after(kept, complete=False)
    assert not reusable_after(closing, complete=True)
    assert not reusable_after(by_close, complete=True)


def test_client_framing_keeps_one_content_length() -> None:
    answer = head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\ncontent-length: 2\r\n\r\n")
    assert client_framing(answer) == [("Content-Length", "2"), ("X-A", "1")]
