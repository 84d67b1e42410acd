"""The Flask app the benchmarks forward to: a small page, a large stream, an upload sink.

Served by gunicorn on 127.0.0.1 (``benchmarks.flask_app:app``) for "Flask
direct" and the HTTP fronts, and imported by the Django worker for the
in-process transport (``wsgi:benchmarks.flask_app:app``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Flask, Response, jsonify, request

app = Flask("bench_legacy")

# About the size of a small rendered page (1.2 KiB), so the figures are
# per-request overhead rather than bytes moved.
PAGE = (
    "<!doctype html><html><head><title>legacy</title></head><body><ul>"
    + "".join(f"<li>item {i}: lorem ipsum dolor sit amet</li>" for i in range(30))
    + "</ul></body></html>"
).encode()

CHUNK = b"x" * 65536


@app.route("/hello")
def hello() -> Response:
    return Response(PAGE, content_type="text/html; charset=utf-8")


@app.route("/stream")
def stream() -> Response:
    """``size`` bytes in 64 KiB pieces, streamed (chunked, no Content-Length)."""
    size = int(request.args.get("size", "1048576"))
    content_type = request.args.get("type", "application/octet-stream")

    def generate() -> Iterator[bytes]:
        remaining = size
        while remaining > 0:
            piece = CHUNK if remaining >= len(CHUNK) else CHUNK[:remaining]
            remaining -= len(piece)
            yield piece

    return Response(generate(), content_type=content_type)


@app.route("/upload", methods=["POST", "PUT"])
def upload() -> Response:
    """Read the request body as it arrives and say how many bytes came."""
    received = 0
    body = request.stream
    while chunk := body.read(65536):
        received += len(chunk)
    return jsonify({"received": received})


@app.route("/events")
def events() -> Response:
    """Server-sent events, each carrying the ``time.monotonic_ns()`` Flask yielded it at.

    CLOCK_MONOTONIC is one clock for every process on the machine, so a
    client can subtract it from its own reading time.
    """
    count = int(request.args.get("count", "50"))
    interval = float(request.args.get("interval", "0.01"))

    def generate() -> Iterator[bytes]:
        for number in range(count):
            if number:
                time.sleep(interval)
            yield f"id: {number}\ndata: {time.monotonic_ns()}\n\n".encode()

    return Response(generate(), content_type="text/event-stream")
