"""The sans-IO HTTP/1.1 rules for the upstream hop: request heads out, response heads in."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler.forwarding.exchange import client_framing
from strangler.forwarding.http11 import (
    MAX_LINE_BYTES,
    MAX_TRAILER_LINES,
    ChunkedDecoder,
    Framing,
    InvalidRequest,
    InvalidResponse,
    ResponseHead,
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
        ("GET", "/", [("", "1"), ("X-A", "1")]),  # would send ": 1"
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
        b"HTTP/1.1 200 OK\r\nX-A: a\x0bb\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: \x7f\r\n\r\n",
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


# --- parse_response_head against a line-by-line reference ----------------------------------
# The parser checks a usual head with two regexes over the whole block and reads
# its framing in one pass; this reference is the plain line-by-line reading it
# replaced (one split, a regex per line, framing and Connection read apart).
# On any head both must agree: the same answer, or the same refusal.

_REF_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REF_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_REF_OWS = b" \t"
_REF_STATUS = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?")


def reference_parse(data: bytes, method: str) -> ResponseHead:
    if not data.endswith(b"\r\n\r\n"):
        raise InvalidResponse("the response head does not end with an empty line")
    lines = data[:-4].split(b"\r\n")
    status_match = _REF_STATUS.fullmatch(lines[0])
    if status_match is None:
        raise InvalidResponse("invalid status line")
    minor, code, reason = status_match.groups(b"")
    status = int(code)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            if not headers or _REF_BAD_VALUE.search(line):
                raise InvalidResponse("invalid folded header line")
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(_REF_OWS).decode("latin-1"))
            continue
        name_bytes, colon, value_bytes = line.partition(b":")
        if not colon or not _REF_TOKEN.fullmatch(name_bytes):
            raise InvalidResponse("invalid header line")
        if _REF_BAD_VALUE.search(value_bytes):
            raise InvalidResponse(f"control character in header {name_bytes.decode('latin-1')!r}")
        value = value_bytes.strip(_REF_OWS).decode("latin-1")
        headers.append((name_bytes.decode("latin-1"), value))
    framing, length = reference_framing(status, headers, method)
    says_close = any(
        name.lower() == "connection" and "close" in value.lower() for name, value in headers
    )
    keep_alive = minor == b"1" and framing != "close" and not says_close
    return ResponseHead(status, reason.decode("latin-1"), headers, framing, length, keep_alive)


def reference_framing(
    status: int, headers: list[tuple[str, str]], method: str
) -> tuple[Framing, int | None]:
    lengths: list[str] = []
    codings: list[str] = []
    for name, value in headers:
        if name.lower() == "content-length":
            lengths.extend(part.strip() for part in value.split(","))
        elif name.lower() == "transfer-encoding":
            codings.extend(part.strip().lower() for part in value.split(",") if part.strip())
    if status < 200 or status in (204, 304) or method == "HEAD":
        return "none", None
    if codings:
        if lengths:
            raise InvalidResponse("both Content-Length and Transfer-Encoding")
        if codings != ["chunked"]:
            raise InvalidResponse(f"unsupported Transfer-Encoding {', '.join(codings)[:40]!r}")
        return "chunked", None
    if lengths:
        if len(set(lengths)) != 1 or not lengths[0].isdigit() or not lengths[0].isascii():
            raise InvalidResponse("conflicting or invalid Content-Length")
        length = int(lengths[0])
        return ("length", length) if length else ("none", None)
    return "close", None


# Bytes that matter to a head's syntax, and plain ones.
_TRICKY = b"\r\n\t \x00\x0b\x7f\x80\xa0\xff:,;"
_tricky_bytes = st.binary(max_size=12) | st.lists(
    st.sampled_from([bytes([b]) for b in _TRICKY] + [b"a", b"0", b"5", b"Z"]), max_size=8
).map(b"".join)
_good_names = st.sampled_from(
    [
        b"Content-Length",
        b"content-length",
        b"CONTENT-LENGTH",
        b"Transfer-Encoding",
        b"transfer-encoding",
        b"Connection",
        b"CONNECTION",
        b"Set-Cookie",
        b"X-A",
        b"Content-Type",
    ]
) | st.from_regex(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,8}", fullmatch=True)
_bad_names = st.sampled_from(
    [b"Content-Length ", b" Content-Length", b"Content\x00Length", b"", b"X:Y", b"\xc4"]
)
_good_values = st.sampled_from(
    [
        b"0",
        b"5",
        b" 5 ",
        b"5, 5",
        b"5,6",
        b"+5",
        b"-1",
        b"05",
        b"\xd9\xa5",
        b"5\xa0",
        b"chunked",
        b"Chunked",
        b" chunked ,",
        b"gzip, chunked",
        b"chunked, chunked",
        b"identity",
        b"close",
        b"keep-alive, Close",
        b"upgrade",
        b"a\tb",
        b"\t x \t",
        b"",
    ]
) | st.from_regex(rb"[\t\x20-\x7e\x80-\xff]{0,10}", fullmatch=True)
_framing_lines = st.tuples(
    st.sampled_from([b"Content-Length", b"content-LENGTH", b"Transfer-Encoding", b"Connection"]),
    st.sampled_from([b":", b": ", b":\t"]),
    st.sampled_from(
        [b"5", b" 5 ", b"5, 5", b"5,6", b"0", b"chunked", b"close", b"keep-alive, Close", b"x"]
    ),
).map(b"".join)
_good_lines = _framing_lines | st.tuples(
    _good_names, st.sampled_from([b":", b": ", b":\t"]), _good_values
).map(b"".join)
# A well-formed line with one byte put somewhere in it.
_spoilt_lines = st.tuples(_good_lines, st.integers(0, 40), st.sampled_from(list(_TRICKY))).map(
    lambda parts: parts[0][: parts[1]] + bytes([parts[2]]) + parts[0][parts[1] :]
)
_field_lines = st.one_of(
    _spoilt_lines,
    # Mostly well-formed lines, so that the usual heads are well covered too.
    _good_lines,
    _good_lines,
    _good_lines,
    st.tuples(
        _good_names | _bad_names | _tricky_bytes,
        st.sampled_from([b":", b": ", b" :", b""]),
        _good_values | _tricky_bytes,
    ).map(b"".join),
    st.tuples(st.sampled_from([b" ", b"\t", b" \t"]), _good_values).map(b"".join),  # obs-fold
    _tricky_bytes,
)
_status_lines = st.one_of(
    st.sampled_from(
        [
            b"HTTP/1.1 200 OK",
            b"HTTP/1.0 200 OK",
            b"HTTP/1.1 204 No Content",
            b"HTTP/1.1 304 Not Modified",
            b"HTTP/1.1 103 Early Hints",
            b"HTTP/1.1 101 Switching Protocols",
            b"HTTP/1.1 200",
            b"HTTP/1.1 200 ",
            b"HTTP/1.1 299 \tOdd \x80reason",
            b"HTTP/1.1 200 O\rK",
            b"HTTP/1.1 200 O\x00K",
            b"HTTP/1.2 200 OK",
            b"HTTP/2 200 OK",
            b"HTTP/1.1 2000 OK",
            b"HTTP/1.1 099 OK",
            b"",
        ]
    ),
    st.tuples(st.just(b"HTTP/1.1 "), st.integers(100, 999), _tricky_bytes).map(
        lambda parts: parts[0] + str(parts[1]).encode() + parts[2]
    ),
)
_good_status = st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 201 Created", b"HTTP/1.1 204 "])
_connection_lines = st.tuples(
    st.sampled_from([b"Connection: ", b"connection:"]),
    st.lists(
        st.sampled_from([b"close", b"Close", b"closed", b"keep-alive", b" ", b""]), max_size=3
    ),
).map(lambda parts: parts[0] + b", ".join(parts[1]))


def _head(status: bytes, lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in (status, *lines)) + b"\r\n"


_heads = st.one_of(
    # Well-formed heads: the framing rules decide.
    st.tuples(_good_status, st.lists(_good_lines | _connection_lines, max_size=6)).map(
        lambda parts: _head(*parts)
    ),
    # Well-formed but for one line.
    st.tuples(
        _good_status,
        st.lists(_good_lines | _connection_lines, max_size=5),
        st.integers(0, 5),
        _spoilt_lines | _field_lines,
    ).map(lambda parts: _head(parts[0], [*parts[1][: parts[2]], parts[3], *parts[1][parts[2] :]])),
    # Anything.
    st.tuples(_status_lines, st.lists(_field_lines, max_size=6)).map(lambda parts: _head(*parts)),
    # Heads without the empty line, or with stray CR/LF around it.
    st.tuples(_status_lines, st.lists(_field_lines, max_size=3), _tricky_bytes).map(
        lambda parts: b"\r\n".join((parts[0], *parts[1])) + parts[2]
    ),
)


def _outcome(parse: Callable[[], ResponseHead]) -> object:
    try:
        return parse()
    except InvalidResponse as exc:
        return ("refused", str(exc))


@settings(max_examples=1000)
@given(data=_heads, method=st.sampled_from(["GET", "HEAD", "POST"]))
def test_parse_response_head_agrees_with_a_line_by_line_reading(data: bytes, method: str) -> None:
    assert _outcome(lambda: parse_response_head(data, request_method=method)) == _outcome(
        lambda: reference_parse(data, method)
    )


def reference_client_framing(head: ResponseHead) -> list[tuple[str, str]]:
    if head.framing != "length":
        return head.headers
    headers: list[tuple[str, str]] = []
    seen = False
    for name, value in head.headers:
        if name.lower() == "content-length":
            if seen:
                continue
            seen, value = True, str(head.length)
        headers.append((name, value))
    return headers


@settings(max_examples=500)
@given(data=_heads)
def test_the_client_gets_one_content_length_reading_the_length(data: bytes) -> None:
    # exact_length_field lets client_framing skip its pass: it must never be
    # set where the pass would change the headers.
    try:
        parsed = parse_response_head(data, request_method="GET")
    except InvalidResponse:
        return
    assert client_framing(parsed) == reference_client_framing(parsed)
