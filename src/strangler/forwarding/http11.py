"""HTTP/1.1 for the upstream hop, sans I/O: request heads out, response heads and framing in.

Pure functions over bytes, shared by the blocking HTTP transport (``http.py``)
and the async one of the ASGI entry, so both read an upstream's answer by the
same strict rules. Strict because a proxy that is lenient where the next hop
is not is how responses get split and connections desynchronised:

* every line ends in CRLF; a bare CR, LF or NUL anywhere in the status line or
  a header is an invalid response (RFC 9112 §2.2 lets a recipient reject it,
  and passing it on would let an upstream forge header lines for the client);
* interim ``1xx`` responses are read and dropped until the final one
  (RFC 9110 §15.2); ``101 Switching Protocols`` cannot be carried over a
  WSGI server and is refused;
* the body's framing comes from one unambiguous source (RFC 9112 §6.3):
  ``Transfer-Encoding: chunked`` alone, or one ``Content-Length`` value, or
  none (read to close). Both at once, conflicting lengths, or another
  transfer coding are refused: a body whose end is in doubt is never
  presented to the client as complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from .headers import Headers

# RFC 9110 §5.6.2: token characters, the only ones allowed in a field name or a method.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKENS_TEXT = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 §5.5: field values are VCHAR, obs-text, SP and HTAB: never CR, LF, NUL or other CTLs.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_VALUE_TEXT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?")
# A request target sent upstream: no whitespace, no controls (RFC 9112 §3.2).
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?")

_OWS = b" \t"
_OWS_TEXT = " \t"
_FRAMING = frozenset({"host", "content-length", "transfer-encoding"})
# The usual response head after its status line, decoded as ISO-8859-1: only
# "token:value CRLF" lines, values free of CR, LF, NUL and other CTLs but HTAB,
# no obs-fold. One regex checks the whole block and another reads its fields;
# a block that does not match takes the line-by-line path (``_read_fields``),
# which unfolds obs-fold and says what is wrong. Neither regex can backtrack:
# a name cannot contain ":" and a value cannot contain CR.
_PLAIN_FIELDS = re.compile(r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*")
_PLAIN_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):([^\x00-\x08\x0a-\x1f\x7f]*)\r\n")
# The fields that say how a response is framed and whether its connection closes.
_FRAMING_RESPONSE = frozenset({"content-length", "transfer-encoding", "connection"})

#: Largest response head read before the answer is refused (status line and headers).
MAX_HEAD_BYTES = 64 * 1024
#: Interim (1xx) responses skipped before an upstream is deemed broken.
MAX_INTERIM_RESPONSES = 16
#: Longest chunk-size or trailer line, its CRLF included.
MAX_LINE_BYTES = 8 * 1024
#: Trailer lines read past (not forwarded) before an upstream is deemed broken.
MAX_TRAILER_LINES = 64
#: The end of a chunked body sent upstream: the last chunk, no trailers.
LAST_CHUNK = b"0\r\n\r\n"

Framing = Literal["none", "length", "chunked", "close"]


class InvalidResponse(ValueError):
    """The upstream's answer breaks HTTP/1.1 framing or syntax; the message says how."""


class InvalidRequest(ValueError):
    """A request head cannot be written without changing its meaning."""


@dataclass(frozen=True)
class ResponseHead:
    """A parsed response head and how its body is framed."""

    status: int
    reason: str
    headers: Headers
    framing: Framing
    # Body length for "length" framing, else None.
    length: int | None
    # May the connection carry another request once the body is read to its end?
    keep_alive: bool
    # One Content-Length field, reading exactly ``str(length)``: the headers
    # need no change to tell the client the length (``exchange.client_framing``).
    # False when unknown: the headers are then checked again.
    exact_length_field: bool = field(default=False, compare=False)

    @property
    def interim(self) -> bool:
        """A 1xx response: another head follows on the same connection."""
        return 100 <= self.status < 200


def request_head(
    method: str, target: str, host: str, headers: Headers, content_length: int | None, chunked: bool
) -> bytes:
    """The bytes of a request head; framing headers are written here and nowhere else.

    ``headers`` must not contain ``Host``, ``Content-Length`` or
    ``Transfer-Encoding`` (the builder removed the client's): the body is
    always sent with the framing the front computed, so that the upstream
    sees exactly one request. Raises ``InvalidRequest`` for a method, target
    or header that would break the request line or add a line.
    """
    if not _TOKENS_TEXT.fullmatch(method):
        raise InvalidRequest(f"invalid method {method[:20]!r}")
    if not target.startswith("/") or _BAD_TARGET.search(target):
        raise InvalidRequest("invalid request target")
    if headers:
        names = [name for name, _ in headers]
        # One regex over all names and one over all values, not one per header;
        # every name is then a non-empty token (no ":"), so one lower() over
        # the names joined by ":" gives back each name lower-cased.
        if (
            not all(names)
            or not _TOKENS_TEXT.fullmatch("".join(names))
            or _BAD_VALUE_TEXT.search("".join([value for _, value in headers]))
            or not _FRAMING.isdisjoint(":".join(names).lower().split(":"))
        ):
            raise InvalidRequest("a header name or value cannot be sent as it is")
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers])
    if chunked:
        framing = "Transfer-Encoding: chunked\r\n"
    elif content_length is not None:
        framing = f"Content-Length: {content_length}\r\n"
    else:
        framing = ""
    text = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{fields}{framing}\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidRequest("a header or the target is not ISO-8859-1") from None


def parse_response_head(data: bytes, *, request_method: str) -> ResponseHead:
    """Parse one response head (``data`` ends with the empty line's CRLF CRLF).

    Raises ``InvalidResponse`` for anything that is not a well-formed
    HTTP/1.x response head with unambiguous framing.
    """
    if not data.endswith(b"\r\n\r\n"):
        raise InvalidResponse("the response head does not end with an empty line")
    status_end = data.index(b"\r\n")
    status_match = _STATUS_LINE.fullmatch(data, 0, status_end)
    if status_match is None:
        raise InvalidResponse("invalid status line")
    minor, code, reason = status_match.groups(b"")
    status = int(code)
    # The header lines, each with its CRLF (latin-1 maps each byte to one character).
    fields = data[status_end + 2 : -2].decode("latin-1")
    headers: Headers
    if _PLAIN_FIELDS.fullmatch(fields):
        headers = [(name, value.strip(_OWS_TEXT)) for name, value in _PLAIN_FIELD.findall(fields)]
    else:
        headers = _read_fields(data[status_end + 2 : -4].split(b"\r\n"))
    framing, length, close, length_fields = _framing(status, headers, request_method)
    keep_alive = minor == b"1" and framing != "close" and not close
    exact = framing == "length" and length_fields == [str(length)]
    return ResponseHead(
        status, reason.decode("latin-1"), headers, framing, length, keep_alive, exact
    )


def _read_fields(lines: list[bytes]) -> Headers:
    """Header lines read one by one: obs-fold unfolded, anything malformed refused."""
    headers: Headers = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            # obs-fold (RFC 9112 §5.2): a proxy replaces it with one space.
            if not headers or _BAD_VALUE.search(line):
                raise InvalidResponse("invalid folded header line")
            folded_name, folded_value = headers[-1]
            headers[-1] = (folded_name, f"{folded_value} {line.strip(_OWS).decode('latin-1')}")
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise InvalidResponse("invalid header line")
        if _BAD_VALUE.search(value):
            raise InvalidResponse(f"control character in header {name.decode('latin-1')!r}")
        headers.append((name.decode("latin-1"), value.strip(_OWS).decode("latin-1")))
    return headers


def response_framing(status: int, headers: Headers, method: str) -> tuple[Framing, int | None]:
    """How an answer's body is framed (RFC 9112 §6.3), and its length for "length".

    Raises ``InvalidResponse`` when the framing is ambiguous.
    """
    framing, length, _, _ = _framing(status, headers, method)
    return framing, length


def _framing(
    status: int, headers: Headers, method: str
) -> tuple[Framing, int | None, bool, list[str]]:
    """:func:`response_framing`, whether ``Connection`` says "close", the Content-Length values.

    One pass over the fields, each name lower-cased once; the Content-Length
    values are the fields' as they are (``client_framing`` compares them).
    """
    lengths: list[str] = []
    length_fields: list[str] = []
    codings: list[str] = []
    close = False
    for name, value in headers:
        lowered = name.lower()
        if lowered not in _FRAMING_RESPONSE:
            continue
        if lowered == "content-length":
            length_fields.append(value)
            lengths += [part.strip() for part in value.split(",")]
        elif lowered == "transfer-encoding":
            codings += [part.strip().lower() for part in value.split(",") if part.strip()]
        elif "close" in value.lower():
            close = True
    if status < 200 or status in (204, 304) or method == "HEAD":
        return "none", None, close, length_fields
    if codings:
        if lengths:
            raise InvalidResponse("both Content-Length and Transfer-Encoding")
        if codings != ["chunked"]:
            raise InvalidResponse(f"unsupported Transfer-Encoding {', '.join(codings)[:40]!r}")
        return "chunked", None, close, length_fields
    if lengths:
        if len(set(lengths)) != 1 or not lengths[0].isdigit() or not lengths[0].isascii():
            raise InvalidResponse("conflicting or invalid Content-Length")
        length = int(lengths[0])
        if not length:
            return "none", None, close, length_fields
        return "length", length, close, length_fields
    return "close", None, close, length_fields


def check_final_response(status: int, reason: str, headers: Headers) -> None:
    """Refuse a final answer a WSGI app gave that HTTP/1.1 could not carry as it is.

    For answers that did not come as bytes (the in-process transport): the
    same rules :func:`parse_response_head` applies to bytes, so an app's
    ``"200 OK\\r\\nX-Injected: 1"`` status or a CR in a header value is a
    502, not a forged header line or a server error.
    """
    if not 200 <= status <= 999:
        raise InvalidResponse(f"status {status} cannot be a final answer")
    # One regex over all names and one over the reason and all values.
    names = [name for name, _ in headers]
    values = [value for _, value in headers]
    values.append(reason)
    if _BAD_VALUE_TEXT.search("".join(values)):
        raise InvalidResponse("control character in the reason phrase or a header value")
    if names and not _TOKENS_TEXT.fullmatch("".join(names)):
        raise InvalidResponse("invalid header name")


def parse_chunk_size(line: bytes) -> int:
    """The size in a chunk-size line (its CRLF included); extensions are ignored.

    Raises ``InvalidResponse`` for anything but hex digits, optional
    extensions and CRLF.
    """
    if not line.endswith(b"\r\n"):
        raise InvalidResponse("chunk size line without CRLF")
    match = _CHUNK_SIZE.fullmatch(line[:-2])
    if match is None:
        raise InvalidResponse("invalid chunk size")
    return int(match.group(1), 16)


def chunk_header(size: int) -> bytes:
    """The size line of one chunk of ``size`` (> 0) bytes sent upstream; CRLF follows the data."""
    return b"%x\r\n" % size


class ChunkedDecoder:
    """The chunk bookkeeping of one chunked response body (RFC 9112 §7.1), sans I/O.

    Fed the bytes received so far, it returns the body data among them and
    how far it read; what it could not finish (a size line cut in two) stays
    unread for the next call. Trailers are read past and dropped: neither a
    WSGI nor an ASGI server can send them on. Size lines, the CRLF after each
    chunk and trailer lines are checked as strictly as a response head.
    """

    def __init__(self) -> None:
        #: The last chunk and the trailers have been read: the body is complete.
        self.done = False
        self._left = 0  # data bytes of the current chunk not read yet
        self._crlf = False  # a chunk's data was read; its CRLF comes next
        self._trailers = -1  # trailer lines read; -1 before the last chunk

    @property
    def data_left(self) -> int:
        """Bytes of the current chunk's data still to come (0 between chunks)."""
        return self._left

    def took(self, size: int) -> None:
        """``size`` bytes of the current chunk's data were read without :meth:`feed`."""
        if not 0 < size <= self._left:
            raise ValueError(f"took {size} bytes of a chunk with {self._left} left")
        self._left -= size
        self._crlf = not self._left

    def feed(
        self, buffer: bytearray, start: int, end: int, limit: int
    ) -> tuple[list[memoryview], int]:
        """Body data in ``buffer[start:end]`` (at most ``limit`` bytes), and where reading stopped.

        The views share ``buffer``: copy them before it changes. Raises
        ``InvalidResponse`` where the framing is broken.
        """
        views: list[memoryview] = []
        while not self.done and start < end:
            if self._left:
                size = min(self._left, end - start, limit)
                if not size:
                    break
                views.append(memoryview(buffer)[start : start + size])
                start += size
                limit -= size
                self._left -= size
                self._crlf = not self._left
            elif self._crlf:
                if end - start < 2:
                    break
                if buffer[start : start + 2] != b"\r\n":
                    raise InvalidResponse("chunk not followed by CRLF")
                start += 2
                self._crlf = False
            else:
                newline = buffer.find(b"\n", start, min(end, start + MAX_LINE_BYTES))
                if newline < 0:
                    if end - start >= MAX_LINE_BYTES:
                        raise InvalidResponse("chunk size or trailer line too long")
                    break
                line = bytes(buffer[start : newline + 1])
                start = newline + 1
                self._read_line(line)
        return views, start

    def _read_line(self, line: bytes) -> None:
        if self._trailers < 0:
            self._left = parse_chunk_size(line)
            if not self._left:
                self._trailers = 0  # the last chunk: trailers follow
        elif line == b"\r\n":
            self.done = True
        elif not line.endswith(b"\r\n"):
            raise InvalidResponse("invalid trailer line")
        else:
            self._trailers += 1
            if self._trailers >= MAX_TRAILER_LINES:
                raise InvalidResponse("too many trailer lines")
