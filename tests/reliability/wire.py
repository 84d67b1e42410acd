"""HTTP/1.1 on raw sockets, read strictly, for tests about the bytes on the wire.

``RawUpstream`` stands where Flask stands and records every request exactly
as it arrived, framed as a real server frames it (RFC 9112 §6: chunked wins
over Content-Length, no framing means no body), so a body that is really a
second request shows up as a second request. ``exchange`` is the client side:
it sends raw bytes to a front and reads one answer, interim 1xx answers
included, telling a complete body from a cut one.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Framing(Exception):
    """The peer's message is not validly framed HTTP/1.1."""


class Reader:
    """Buffered reads off a socket, to a delimiter or a byte count."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def until(self, delimiter: bytes, limit: int = 1 << 20) -> bytes:
        while delimiter not in self.buffer:
            if len(self.buffer) > limit:
                raise Framing(f"no {delimiter!r} within {limit} bytes")
            if not self.fill():
                raise EOFError(self.buffer)
        data, _, self.buffer = self.buffer.partition(delimiter)
        return data

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not self.fill():
                raise EOFError(self.buffer)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def rest(self) -> bytes:
        while self.fill():
            pass
        data, self.buffer = self.buffer, b""
        return data


Header = tuple[bytes, bytes]


def parse_head(head: bytes) -> tuple[bytes, list[Header]]:
    """The start line and the header fields of a message head (without its blank line)."""
    start, *lines = head.split(b"\r\n")
    headers: list[Header] = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b"\r" in line or b"\n" in line:
            raise Framing(f"bad header line {line!r}")
        headers.append((name, value.strip(b" \t")))
    return start, headers


def values(headers: list[Header], name: bytes) -> list[bytes]:
    """Every value of header ``name`` (any case), in order."""
    return [value for key, value in headers if key.lower() == name.lower()]


def read_chunked(reader: Reader) -> bytes:
    """A chunked body (RFC 9112 §7.1), trailers skipped; ``Framing`` if malformed."""
    body = b""
    while True:
        size_line = reader.until(b"\r\n", limit=4096)
        size_text = size_line.split(b";", 1)[0].strip()
        if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise Framing(f"bad chunk size {size_line!r}")
        size = int(size_text, 16)
        if size == 0:
            while reader.until(b"\r\n", limit=65536):
                pass  # trailer fields, up to the blank line
            return body
        body += reader.exactly(size)
        if reader.exactly(2) != b"\r\n":
            raise Framing("chunk not followed by CRLF")


def read_body(reader: Reader, headers: list[Header]) -> tuple[bytes, str]:
    """A request body framed as RFC 9112 §6.3 says, and how it was framed."""
    encodings = b",".join(values(headers, b"transfer-encoding")).lower()
    if encodings:
        if encodings.rsplit(b",", 1)[-1].strip() != b"chunked":
            raise Framing(f"transfer coding {encodings!r} does not end in chunked")
        return read_chunked(reader), "chunked"
    lengths = {v.strip() for value in values(headers, b"content-length") for v in value.split(b",")}
    if len(lengths) > 1 or any(not v.isdigit() for v in lengths):
        raise Framing(f"bad Content-Length {sorted(lengths)!r}")
    if lengths:
        return reader.exactly(int(lengths.pop())), "length"
    return b"", "none"


@dataclass
class RawRequest:
    """One request as the upstream received it."""

    request_line: bytes
    headers: list[Header]
    body: bytes
    framing: str  # "chunked", "length" or "none"
    connection: int

    @property
    def method(self) -> bytes:
        return self.request_line.split(b" ")[0]

    @property
    def target(self) -> bytes:
        return self.request_line.split(b" ")[1]

    def header(self, name: bytes) -> list[bytes]:
        return values(self.headers, name)


OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Raw-Upstream: 1\r\n"
    b"Content-Length: 2\r\n\r\nok"
)


@dataclass(frozen=True)
class Cut:
    """An answer the upstream sends and then closes the connection after, framed or not."""

    data: bytes


Answer = Callable[[RawRequest], bytes | Cut | None]


def answer_ok(request: RawRequest) -> bytes:
    return OK


@dataclass
class _Connection:
    thread: threading.Thread | None = None
    idle: bool = False


class RawUpstream:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 that records each request as it arrived.

    ``answer`` gives the bytes to send back for a request, a ``Cut`` to send
    and then close, or None to close the connection without answering (after
    the request was read: its bytes did reach the upstream). Requests whose
    framing is broken, or whose connection closed before they were complete,
    are counted in ``incomplete`` and never in ``requests``.
    """

    answer: Answer = field(default=answer_ok, repr=False)
    requests: list[RawRequest] = field(default_factory=list, repr=False)
    incomplete: int = 0

    def __init__(self, answer: Answer = answer_ok) -> None:
        self.answer = answer
        self.requests: list[RawRequest] = []
        self.incomplete = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def __repr__(self) -> str:
        return f"<RawUpstream {self.url}: {len(self.requests)} requests>"

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def netloc(self) -> bytes:
        return f"127.0.0.1:{self.port}".encode()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                state = _Connection()
                self._connections.append(state)
                number = len(self._connections)
            state.thread = threading.Thread(
                target=self._serve, args=(conn, number, state), daemon=True
            )
            state.thread.start()

    def _serve(self, conn: socket.socket, number: int, state: _Connection) -> None:
        conn.settimeout(30)
        reader = Reader(conn)
        with conn:
            while not self._stopped.is_set():
                # Idle only when nothing is pending, in our buffer or the kernel's:
                # bytes the front wrote before it read our answer are already here.
                if not reader.buffer and not select.select([conn], [], [], 0)[0]:
                    state.idle = True
                try:
                    head = reader.until(b"\r\n\r\n")
                    state.idle = False
                    request_line, headers = parse_head(head)
                    body, framing = read_body(reader, headers)
                except (EOFError, OSError, Framing, ValueError):
                    state.idle = False
                    if reader.buffer:
                        with self._lock:
                            self.incomplete += 1
                    return
                request = RawRequest(request_line, headers, body, framing, number)
                with self._lock:
                    self.requests.append(request)
                reply = self.answer(request)
                if reply is None:
                    return
                try:
                    conn.sendall(reply.data if isinstance(reply, Cut) else reply)
                except OSError:
                    return
                if isinstance(reply, Cut):
                    return

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every connection has parsed all it was sent (or closed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                busy = [
                    c
                    for c in self._connections
                    if not c.idle and (c.thread is None or c.thread.is_alive())
                ]
            if not busy:
                return
            time.sleep(0.001)

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()
        self._accept_thread.join(timeout=5)
        for state in self._connections:
            if state.thread is not None:
                state.thread.join(timeout=1)


@dataclass
class RawResponse:
    """One answer as the client received it."""

    status: int
    reason: bytes
    headers: list[Header]
    body: bytes
    # False when the connection ended before the framed end of the body.
    complete: bool
    interim: list[int] = field(default_factory=list)

    def header(self, name: bytes) -> list[bytes]:
        return values(self.headers, name)


def read_response(reader: Reader, *, head_request: bool = False) -> RawResponse:
    """Read one final response (after any 1xx) off ``reader``."""
    interim: list[int] = []
    while True:
        status_line, headers = parse_head(reader.until(b"\r\n\r\n"))
        _, code, *reason = status_line.split(b" ", 2)
        status = int(code)
        if 100 <= status < 200 and status != 101:
            interim.append(status)
            continue
        break
    if head_request or status in (101, 204, 304):
        return RawResponse(status, b"".join(reason), headers, b"", True, interim)
    complete = True
    try:
        if values(headers, b"transfer-encoding"):
            body = read_chunked(reader)
        elif lengths := values(headers, b"content-length"):
            body = reader.exactly(int(lengths[0]))
        else:
            body = reader.rest()
    except (EOFError, ConnectionError, Framing) as error:
        body = error.args[0] if isinstance(error, EOFError) and error.args else b""
        complete = False
    return RawResponse(status, b"".join(reason), headers, body, complete, interim)


def exchange(port: int, data: bytes, *, timeout: float = 20.0, head: bool = False) -> RawResponse:
    """Send ``data`` to 127.0.0.1:``port`` on a new connection and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(Reader(sock), head_request=head)
