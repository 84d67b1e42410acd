"""A legacy Flask app with live features: server-sent events, a long poll, WebSockets.

Served by Werkzeug's threaded server (which Flask-Sock supports) for the HTTP
transport, and imported as ``wsgi:tests.asgi.legacy:app`` for the in-process
one. Every event carries the ``time.monotonic_ns()`` at which Flask yielded it
(one system-wide clock), so a client can measure the delay to its own read.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

from flask import Flask, Response, jsonify, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server

CHUNK = b"x" * 65536


class Closes:
    """Close codes the WebSocket routes received, for tests that cannot read them."""

    def __init__(self) -> None:
        self.codes: list[int | None] = []
        self.lock = threading.Lock()

    def add(self, code: int | None) -> None:
        with self.lock:
            self.codes.append(code)


class Streams:
    """How many event streams were closed."""

    def __init__(self) -> None:
        self.closed = 0
        self.lock = threading.Lock()


def create_live_app() -> Flask:
    """The live-features app under test."""
    app = Flask("legacy_live")
    # The subprotocols Flask's WebSocket routes speak (chosen from the client's offer).
    app.config["SOCK_SERVER_OPTIONS"] = {"subprotocols": ["chat.v2"]}
    sock = Sock(app)
    closes = Closes()
    app.extensions["closes"] = closes
    streams = Streams()

    @app.route("/hello")
    def hello() -> Response:
        return Response("hello from flask", content_type="text/plain")

    @app.route("/events")
    def events() -> Response:
        count = int(request.args.get("count", "5"))
        interval = float(request.args.get("interval", "0.05"))

        def generate() -> Iterator[bytes]:
            try:
                for number in range(count):
                    if number:
                        time.sleep(interval)
                    yield f"id: {number}\ndata: {time.monotonic_ns()}\n\n".encode()
            finally:
                with streams.lock:
                    streams.closed += 1

        return Response(generate(), content_type="text/event-stream")

    @app.route("/threads")
    def threads() -> Response:
        """Pieces naming the thread that produced each, as a WSGI server runs them."""

        count = int(request.args.get("count", "20"))

        def generate() -> Iterator[bytes]:
            for _ in range(count):
                yield f"{threading.get_ident()}\n".encode()

        return Response(generate(), content_type="text/plain")

    @app.route("/events/closed")
    def events_closed() -> Response:
        """How many event streams Flask has seen closed (finished or abandoned)."""
        return jsonify({"closed": streams.closed})

    @app.route("/ws/closes")
    def ws_closes() -> Response:
        """The close codes Flask's WebSocket routes received from their clients."""
        return jsonify({"codes": closes.codes})

    @app.route("/broken")
    def broken() -> Response:
        def generate() -> Iterator[bytes]:
            yield b"the first part"
            raise RuntimeError("the legacy app fails mid-answer")

        return Response(generate(), content_type="text/plain")

    @app.route("/poll")
    def poll() -> Response:
        time.sleep(float(request.args.get("wait", "0.5")))
        return jsonify({"answered_at": time.monotonic_ns()})

    @app.route("/stream")
    def stream() -> Response:
        size = int(request.args.get("size", "1048576"))

        def generate() -> Iterator[bytes]:
            remaining = size
            while remaining > 0:
                piece = CHUNK if remaining >= len(CHUNK) else CHUNK[:remaining]
                remaining -= len(piece)
                yield piece

        return Response(generate(), content_type="application/octet-stream")

    @app.route("/upload", methods=["POST", "PUT"])
    def upload() -> Response:
        digest = hashlib.sha256()
        received = 0
        while chunk := request.stream.read(65536):
            digest.update(chunk)
            received += len(chunk)
        return jsonify({"received": received, "sha256": digest.hexdigest()})

    @app.route("/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    def echo() -> Response:
        return jsonify(
            {
                "method": request.method,
                "path": request.path,
                "raw_uri": request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"),
                "headers": [[name, value] for name, value in request.headers.items()],
                "body": request.get_data(as_text=True),
            }
        )

    @sock.route("/ws/echo")  # type: ignore[untyped-decorator]
    def ws_echo(ws: Server) -> None:
        """Echo every message, prefixed; the first message is the handshake's headers."""
        ws.send(jsonify_headers())
        try:
            while True:
                message = ws.receive()
                if message == "close-me":
                    ws.close(4001, "flask closes")
                    return
                if isinstance(message, bytes):
                    ws.send(b"flask:" + message)
                else:
                    ws.send("flask:" + message)
        except ConnectionClosed as closed:
            closes.add(closed.reason)

    def jsonify_headers() -> str:
        import json

        return json.dumps(
            {
                "path": request.path,
                "query": request.query_string.decode("latin-1"),
                "headers": [[name, value] for name, value in request.headers.items()],
            }
        )

    return app


app = create_live_app()
