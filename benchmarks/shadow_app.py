"""The shadow benchmark's two sides: a Flask JSON endpoint and its faithful Django port.

``app`` is the Flask app (gunicorn ``benchmarks.shadow_app:app``); the Django
front's settings (``benchmarks/shadow_settings.py``) use this module as the
URLconf, so both sides answer ``/api/items`` from the same ``ITEMS``.
"""

from __future__ import annotations

from typing import Any

# About 1.5 KiB of JSON: a typical small API answer.
ITEMS = [
    {"id": n, "name": f"sample {n}", "volume_ml": n * 2.5, "tags": ["glass", "lab"]}
    for n in range(20)
]


def _flask_app() -> Any:
    from flask import Flask, jsonify

    flask_app = Flask("bench_shadow_legacy")

    @flask_app.route("/api/items")
    def items() -> Any:
        return jsonify({"items": ITEMS, "total": len(ITEMS)})

    @flask_app.route("/hello")  # what benchmarks/servers.py waits for
    def hello() -> str:
        return "ok"

    return flask_app


def _urlpatterns() -> list[Any]:
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.urls import path

    def items(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"items": ITEMS, "total": len(ITEMS)})

    def hello(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    return [path("api/items", items), path("hello", hello)]


def __getattr__(name: str) -> Any:
    # Each side imports only its own framework: gunicorn asks for ``app``,
    # Django's URL resolver for ``urlpatterns``.
    if name == "app":
        return _flask_app()
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)
