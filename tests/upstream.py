"""The legacy Flask app the tests forward to, and a real server to run it on.

The app reports what it received (method, raw target, headers, body digest)
so tests can compare it with what the client sent, and has routes for every
awkward answer a proxy must pass through untouched.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from flask import Flask, Response, jsonify, request, stream_with_context
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

GZIP_BODY = gzip.compress(b"compressed by flask " * 100, mtime=0)


@dataclass
class Events:
    """What the upstream saw happen, for tests that cannot read a response."""

    streams_closed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stream_closed(self) -> None:
        with self.lock:
            self.streams_closed += 1


def create_app(events: Events | None = None) -> Flask:
    """The legacy app under test."""
    app = Flask("legacy")
    events = events or Events()
    app.extensions["events"] = events

    @app.route("/cookies")
    def cookies() -> Response:
        response = Response("cookies")
        response.headers.add("Set-Cookie", "a=1; Path=/; HttpOnly")
        response.headers.add(
            "Set-Cookie", "b=two words; Partitioned; Priority=High; SameSite=None; Secure"
        )
        response.headers.add("Set-Cookie", "c=3; Domain=127.0.0.1; Path=/")
        return response

    @app.route("/gzip")
    def gzipped() -> Response:
        return Response(GZIP_BODY, headers={"Content-Encoding": "gzip"}, content_type="text/plain")

    @app.route("/redirect/absolute")
    def redirect_absolute() -> Response:
        return Response("", status=302, headers={"Location": request.host_url + "landing?x=1"})

    @app.route("/redirect/relative")
    def redirect_relative() -> Response:
        return Response("", status=302, headers={"Location": "/landing"})

    @app.route("/redirect/elsewhere")
    def redirect_elsewhere() -> Response:
        return Response("", status=302, headers={"Location": "https://other.example/x"})

    @app.route("/status/<int:code>")
    def status(code: int) -> Response:
        return Response("status", status=f"{code} Custom Reason Here")

    @app.route("/repeated")
    def repeated() -> Response:
        response = Response("repeated")
        response.headers.add("Link", "</a>; rel=preload")
        response.headers.add("Link", "</b>; rel=preload")
        response.headers.add("X-Multi", "one")
        response.headers.add("X-Multi", "two")
        response.headers["X-Odd-Bytes"] = "caf\u00e9"
        return response

    @app.route("/hop")
    def hop() -> Response:
        return Response(
            "hop",
            headers={"Connection": "X-Private", "X-Private": "secret", "Keep-Alive": "timeout=5"},
        )

    @app.route("/stream")
    def stream() -> Response:
        size = int(request.args.get("size", "1048576"))
        chunk = b"x" * 65536

        def generate() -> Iterator[bytes]:
            sent = 0
            try:
                while sent < size:
                    piece = chunk[: size - sent]
                    sent += len(piece)
                    yield piece
            finally:
                events.stream_closed()

        return Response(stream_with_context(generate()), content_type="application/octet-stream")

    @app.route("/slow")
    def slow() -> Response:
        time.sleep(float(request.args.get("delay", "1")))
        return Response("slow")

    @app.route(
        "/",
        defaults={"path": ""},
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    )
    @app.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    def echo(path: str) -> Response:
        digest = hashlib.sha256()
        length = 0
        stream = request.stream
        while chunk := stream.read(65536):
            digest.update(chunk)
            length += len(chunk)
        response = jsonify(
            {
                "method": request.method,
                "raw_uri": request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"),
                "path": request.path,
                "script_name": request.environ.get("SCRIPT_NAME", ""),
                "query_string": request.query_string.decode("latin-1"),
                "headers": [[name, value] for name, value in request.headers.items()],
                "body_length": length,
                "body_sha256": digest.hexdigest(),
                "remote_addr": request.remote_addr,
            }
        )
        response.headers["X-Upstream"] = "flask"
        return response

    return app


class _HTTP11Handler(WSGIRequestHandler):
    # Keep-alive, like the production servers Flask runs behind.
    protocol_version = "HTTP/1.1"

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app: Flask) -> RunningServer:
    """Run ``app`` on a real threaded HTTP/1.1 server on 127.0.0.1 (a free port)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_HTTP11Handler)
    thread = threading.Thread(target=server.serve_forever, name="flask-upstream", daemon=True)
    thread.start()
    return RunningServer(server, thread)


@dataclass
class Recorded:
    request_line: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    connection: int


def _has_at_least(length: int, data: bytes) -> bool:
    return len(data) >= length


class RecordingServer:
    """A bare HTTP/1.1 server that records each request exactly as it arrived.

    Werkzeug (via ``http.server``) normalises some request targets (it
    collapses a leading ``//``), so tests about the bytes on the wire read
    them here instead. ``drop_after`` makes every connection close, without
    answering, once it has served that many requests: how an upstream drops
    a kept-alive connection the proxy is about to reuse.
    """

    OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

    def __init__(
        self,
        drop_after: int | None = None,
        response: bytes | Callable[[Recorded], bytes] = OK,
        close_after: bool = False,
    ) -> None:
        self.drop_after = drop_after
        self.response = response
        self.close_after = close_after
        self.requests: list[Recorded] = []
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

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
            self.connections += 1
            thread = threading.Thread(
                target=self._serve, args=(conn, self.connections), daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(5)
        buffer = b""
        served = 0

        def read_until(done: Callable[[bytes], bool]) -> bool:
            nonlocal buffer
            while not done(buffer):
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return False
                if not chunk:
                    return False
                buffer += chunk
            return True

        with conn:
            while not self._stopped.is_set():
                if not read_until(lambda data: b"\r\n\r\n" in data):
                    return
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                headers = [
                    (name.strip(), value.strip())
                    for name, _, value in (line.partition(b":") for line in lines[1:])
                ]
                length = next((int(v) for n, v in headers if n.lower() == b"content-length"), 0)
                if (b"transfer-encoding", b"chunked") in [(n.lower(), v) for n, v in headers]:
                    if not read_until(lambda data: b"0\r\n\r\n" in data):
                        return
                    length = buffer.index(b"0\r\n\r\n") + 5
                if not read_until(partial(_has_at_least, length)):
                    return
                body, buffer = buffer[:length], buffer[length:]
                self.requests.append(Recorded(lines[0], headers, body, number))
                if self.drop_after is not None and served >= self.drop_after:
                    return  # close without answering
                served += 1
                answer = self.response
                if callable(answer):
                    answer = answer(self.requests[-1])
                try:
                    conn.sendall(answer)
                except OSError:
                    return  # the proxy went away mid-answer
                if self.close_after:
                    return

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()
        self._accept_thread.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
