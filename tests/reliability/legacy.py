"""The legacy Flask app the reliability and property tests run against.

Everything it answers is deterministic, so a body fetched through a front can
be compared byte for byte with the same body fetched from Flask directly. It
also has routes that mirror the paths Django owns in the fronts' settings
(``/billing/**`` by rule, ``/ported/`` and ``/items/<id>/`` by URLconf): if
Flask ever answers one of them through a front, the front forwarded a path
it should have kept. ``app`` is the module-level WSGI object for the
in-process transport (``wsgi:tests.reliability.legacy:app``).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections.abc import Iterator
from functools import lru_cache

from flask import Flask, Response, jsonify, request

# Endpoints of the routes Django owns in the fronts (tests/reliability/front_settings.py).
DJANGO_OWNED_ENDPOINTS = frozenset({"billing", "billing_root", "ported", "items"})
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
IDENTITY_HEADER = "X-Strangler-Identity-Token"


@lru_cache(maxsize=64)
def blob(size: int, seed: int = 0) -> bytes:
    """``size`` deterministic bytes: the same on every call, in every process."""
    block = hashlib.sha256(b"%d" % seed).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def _read_body() -> tuple[int, str]:
    digest = hashlib.sha256()
    length = 0
    while chunk := request.stream.read(65536):
        digest.update(chunk)
        length += len(chunk)
    return length, digest.hexdigest()


def create_app() -> Flask:
    app = Flask("legacy_reliability")
    sequence = itertools.count(1)

    def mirror(endpoint: str) -> Response:
        _read_body()
        return jsonify({"endpoint": endpoint, "path": request.path})

    @app.route("/billing", methods=ALL_METHODS, endpoint="billing_root")
    @app.route("/billing/<path:rest>", methods=ALL_METHODS, endpoint="billing")
    @app.route("/ported/", methods=ALL_METHODS, endpoint="ported")
    @app.route("/items/<int:item_id>/", methods=ALL_METHODS, endpoint="items")
    def django_owned(**kwargs: object) -> Response:
        assert request.url_rule is not None
        return mirror(request.url_rule.endpoint)

    @app.route("/r/blob")
    def blob_view() -> Response:
        size = request.args.get("size", 100, type=int)
        seed = request.args.get("seed", 0, type=int)
        return Response(blob(min(max(size, 0), 1 << 24), seed), content_type="application/x-blob")

    @app.route("/r/chunks")
    def chunks_view() -> Response:
        size = min(max(request.args.get("size", 1 << 18, type=int), 0), 1 << 24)
        data = blob(size, 7)

        def generate() -> Iterator[bytes]:
            for start in range(0, size, 65536):
                yield data[start : start + 65536]

        return Response(generate(), content_type="application/x-blob")  # streamed: chunked

    @app.route("/r/upload", methods=["POST", "PUT"])
    def upload_view() -> Response:
        length, digest = _read_body()
        return jsonify({"length": length, "sha256": digest})

    @app.route("/r/count", methods=["POST"])
    def count_view() -> Response:
        """Count a POST by its id, in a file that outlives a killed server."""
        length, digest = _read_body()
        path = os.environ.get("STRANGLER_TEST_COUNT_FILE")
        if path:
            line = (request.args.get("id", "") + "\n").encode()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write with O_APPEND: whole lines, never interleaved
            finally:
                os.close(fd)
        return jsonify({"length": length, "sha256": digest})

    @app.route("/r/hang")
    def hang_view() -> Response:
        time.sleep(min(request.args.get("seconds", 30.0, type=float), 60.0))
        return Response("woke up")

    @app.route("/", defaults={"path": ""}, methods=ALL_METHODS)
    @app.route("/<path:path>", methods=ALL_METHODS)
    def echo(path: str) -> Response:
        length, digest = _read_body()
        response = jsonify(
            {
                "endpoint": "echo",
                "sequence": next(sequence),
                "method": request.method,
                "raw_uri": request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"),
                "path": request.path,
                "headers": [[name, value] for name, value in request.headers.items()],
                "identity": request.headers.getlist(IDENTITY_HEADER),
                "body_length": length,
                "body_sha256": digest,
            }
        )
        response.headers["X-Upstream"] = "flask"
        return response

    return app


app = create_app()
