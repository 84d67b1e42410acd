"""The sans-IO HTTP/1.1 rules for the upstream hop: request heads out, response heads in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strangler.forwarding.http11 import (
    MAX_LINE_BYTES,
    MAX_TRAILER_LINES,
    ChunkedDecoder,
    InvalidRequest,
    InvalidResponse,
    chunk_header,
    parse_chunk_size,
    parse_response_head,
    request_head,
)


def head(text: bytes, method: str = "GET"):
    return parse_response_head(text, request_method=method)


def test_request_head_writes_the_fronts_framing() -> None:
    data = request_head("POST", "/a?b", "up:8000", [("X-A", "1")], 3, chunked=False)
    assert data == b"POST /a?b HTTP/1.1\r\nHost: up:8000\r\nX-A: 1\r\nContent-Length: 3\r\n\r\n"
    data = request_head("POST", "/", "up", [], None, chunked=True)
    assert data.endswith(b"Transfer-Encoding: chunked\r\n\r\n")


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET /x HTTP/1.1\r\n", "/", []),
        ("GET", "/a b", []),
        ("GET", "/a\r\nX: y", []),
        ("GET", "http://evil/", []),
        ("GET", "/", [("X-A", "1\r\nX-Evil: 1")]),
        ("GET", "/", [("Bad Name", "1")]),
        ("GET", "/", [("Content-Length", "5")]),
        ("GET", "/", [("Transfer-Encoding", "chunked")]),
        ("GET", "/", [("Host", "evil")]),
    ],
)
def test_request_head_refuses_what_would_change_the_request(
    method: str, target: str, headers: list[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidRequest):
        request_head(method, target, "up", headers, None, chunked=False)


def test_request_head_keeps_latin1_target_bytes() -> None:
    assert request_head("GET", "/caf\xe9", "up", [], None, chunked=False).startswith(
        b"GET /caf\xe9 HTTP/1.1\r\n"
    )


def test_a_plain_answer() -> None:
    parsed = head(b"HTTP/1.1 299 Custom Reason\r\nContent-Length: 5\r\nX-A:  b \r\n\r\n")
    assert (parsed.status, parsed.reason, parsed.framing, parsed.length) == (
        299,
        "Custom Reason",
        "length",
        5,
    )
    assert parsed.headers == [("Content-Length", "5"), ("X-A", "b")]
    assert parsed.keep_alive


@pytest.mark.parametrize(
    ("text", "framing", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked", True),
        (b"HTTP/1.1 200 OK\r\n\r\n", "close", False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", "length", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", "length", False),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", "none", True),
        (b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "none", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\nContent-Length: 4\r\n\r\n", "length", True),
    ],
)
def test_framing(text: bytes, framing: str, keep_alive: bool) -> None:
    parsed = head(text)
    assert (parsed.framing, parsed.keep_alive) == (framing, keep_alive)


def test_a_head_request_has_no_body_whatever_the_length() -> None:
    assert head(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", "HEAD").framing == "none"


def test_interim_answers_are_marked() -> None:
    assert head(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").interim
    assert not head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").interim


def test_obs_fold_becomes_one_space() -> None:
    parsed = head(b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n")
    assert ("X-Long", "a b") in parsed.headers


@pytest.mark.parametrize(
    "text",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \xd9\xa5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\rSet-Cookie: admin=1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
        b"HTTP/1.1 200 OK\rX-Injected: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\nX: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded first\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    ],
)
def test_malformed_answers_are_refused(text: bytes) -> None:
    with pytest.raises(InvalidResponse):
        head(text)


@pytest.mark.parametrize(
    ("line", "size"), [(b"0\r\n", 0), (b"1a\r\n", 26), (b"A;name=value\r\n", 10), (b"5 \r\n", 5)]
)
def test_chunk_sizes(line: bytes, size: int) -> None:
    assert parse_chunk_size(line) == size


@pytest.mark.parametrize("line", [b"\r\n", b"-1\r\n", b"0x5\r\n", b"5\n", b"1" * 17 + b"\r\n"])
def test_bad_chunk_sizes(line: bytes) -> None:
    with pytest.raises(InvalidResponse):
        parse_chunk_size(line)


def decode(data: bytes, cuts: list[int], limit: int = 1 << 20) -> bytes:
    """Feed ``data`` to a ChunkedDecoder as it would arrive, cut at ``cuts``; return the body."""
    decoder = ChunkedDecoder()
    buffer = bytearray()
    start = 0
    body = b""
    for end in [*sorted(cuts), len(data)]:
        buffer += data[len(buffer) : end]
        while True:
            views, start = decoder.feed(buffer, start, len(buffer), limit)
            assert sum(len(view) for view in views) <= limit
            body += b"".join(views)
            if not views:
                break
    assert decoder.done
    assert start == len(data), "the decoder reads the body to its end and no further"
    return body


def chunked(pieces: list[bytes], trailers: bytes = b"") -> bytes:
    return (
        b"".join(chunk_header(len(p)) + p + b"\r\n" for p in pieces if p)
        + b"0\r\n"
        + (trailers + b"\r\n")
    )


@given(
    pieces=st.lists(st.binary(max_size=300), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=12),
    limit=st.integers(min_value=1, max_value=500),
)
def test_chunked_decoder_reads_any_split_of_any_body(
    pieces: list[bytes], cuts: list[int], limit: int
) -> None:
    data = chunked(pieces, b"X-Sum: 1\r\n")
    assert decode(data, [cut for cut in cuts if cut <= len(data)], limit) == b"".join(pieces)


def test_chunked_decoder_stops_at_the_end_of_the_body() -> None:
    decoder = ChunkedDecoder()
    buffer = bytearray(chunked([b"abc"]) + b"HTTP/1.1 200 OK\r\n")
    views, start = decoder.feed(buffer, 0, len(buffer), 100)
    assert (b"".join(views), decoder.done) == (b"abc", True)
    assert buffer[start:] == b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize(
    "data",
    [
        b"3\r\nabcX\r\n0\r\n\r\n",  # no CRLF after the data
        b"3\n\r\nabc\r\n0\r\n\r\n",  # bare LF after the size
        b"zz\r\n",  # not a size
        b"0\r\nX-Bad: 1\n\r\n",  # a trailer line without CR
        b"1" * MAX_LINE_BYTES,  # a size line that never ends
        b"0\r\n" + b"X-T: 1\r\n" * MAX_TRAILER_LINES + b"\r\n",  # too many trailers
    ],
    ids=["no-crlf", "bare-lf", "not-hex", "trailer-lf", "long-line", "many-trailers"],
)
def test_chunked_decoder_refuses_broken_framing(data: bytes) -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(InvalidResponse):
        decoder.feed(bytearray(data), 0, len(data), 1 << 20)


def test_chunked_decoder_keeps_a_cut_line_for_later() -> None:
    decoder = ChunkedDecoder()
    buffer = bytearray(b"3\r\nabc\r\n1")
    views, start = decoder.feed(buffer, 0, len(buffer), 100)
    assert b"".join(views) == b"abc"
    assert (start, decoder.done) == (8, False)  # "1" waits for the rest of its line
