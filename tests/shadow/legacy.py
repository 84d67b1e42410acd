"""The legacy Flask endpoints being ported, and what they saw.

Each endpoint has a Django port in ``tests/shadow/urls.py``: a faithful one,
and ports that drop a field, change an order or a status, so the tests can
check that shadow tells them apart. ``/api/stamp`` is noisy on purpose: a
timestamp and a random id differ on every call.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from strangler.flask import DjangoIdentity, current_identity

ITEMS = [{"id": 1, "name": "pipette", "tags": ["glass"]}, {"id": 2, "name": "flask", "tags": []}]
PAGE = """<!doctype html>
<html><head><title>Samples</title></head>
<body><h1>Samples</h1><ul class="list main"><li>pipette</li><li>flask</li></ul></body></html>
"""
# A large answer: a few of them fill the socket to a stopped shadow child process.
BLOB = "x" * 200_000
SECRET_TOKEN = "flask-issued-secret-token-0123456789"


class Seen:
    """Requests the legacy app received, per path (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: Counter[str] = Counter()
        self.identities: list[dict[str, Any]] = []

    def add(self, path: str, identity: dict[str, Any]) -> None:
        with self.lock:
            self.paths[path] += 1
            self.identities.append(identity)

    def clear(self) -> None:
        with self.lock:
            self.paths.clear()
            self.identities.clear()


def create_shadow_legacy_app(public_key: str, seen: Seen) -> Flask:
    """The legacy app, trusting Django's identity tokens signed with ``public_key``."""
    app = Flask("shadow_legacy")
    app.config.update(STRANGLER_VERIFYING_KEYS=[public_key])
    DjangoIdentity(app)

    @app.before_request
    def note() -> None:
        seen.add(request.path, {"claims": dict(current_identity.claims or {})})

    def items() -> Response:
        return jsonify({"items": ITEMS, "total": len(ITEMS)})

    for path in ("/api/items", "/api/items-dropped", "/api/items-reordered", "/api/items-status"):
        app.add_url_rule(path, path, items)

    @app.route("/api/stamp")
    def stamp() -> Response:
        return jsonify(
            {
                "value": 42,
                "generated_at": datetime.now(UTC).isoformat(),
                "request_id": uuid.uuid4().hex,
            }
        )

    @app.route("/api/whoami")
    def whoami() -> Response:
        return jsonify({"user": current_identity.claims.get("username")})

    @app.route("/page")
    def page() -> Response:
        return Response(PAGE, content_type="text/html; charset=utf-8")

    @app.route("/api/secret")
    def secret() -> Response:
        response = jsonify({"access_token": SECRET_TOKEN, "echo": request.args.get("q")})
        response.set_cookie("legacy_session", SECRET_TOKEN)
        return response

    @app.route("/api/notes", methods=["GET", "POST"])
    def notes() -> tuple[Response, int]:
        return jsonify({"stored": request.get_json(silent=True)}), 201

    @app.route("/api/slow")
    def slow() -> Response:
        time.sleep(0.3)  # Flask slower than the port: the shadow queue fills
        return jsonify({"slow": True})

    @app.route("/api/large")
    def large() -> Response:
        return jsonify({"blob": BLOB})

    @app.route("/api/legacy-only")
    def legacy_only() -> Response:
        return jsonify({"by": "flask"})

    return app
