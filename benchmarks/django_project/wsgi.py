"""WSGI entry point of the benchmark front (gunicorn).

``BENCH_HANDLER=strangler`` serves the project with django-strangler's WSGI
fast path (``strangler.wsgi.get_wsgi_application``), as its docs recommend
for ``wsgi.py``; anything else with Django's own handler, where
``StranglerMiddleware`` alone does the forwarding. ``BENCH_DECISION=off`` makes
the fast path's decision a constant (the routing benchmark's baseline).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.django_project.settings")

if os.environ.get("BENCH_HANDLER") == "strangler":
    # Imported by name: the fast path is newer than the middleware.
    _handler: Any = importlib.import_module("strangler.wsgi")
else:
    _handler = importlib.import_module("django.core.wsgi")

application = _handler.get_wsgi_application()

if os.environ.get("BENCH_DECISION") == "off":
    # The baseline of benchmarks/routing.py: the same fast path with a constant
    # decision (every request forwarded, no switch, rule or URLconf lookup).
    from strangler import wsgi as _fast_path
    from strangler.routing import Decision

    _forwarded = Decision("flask", "/hello", "default")
    setattr(_fast_path, "decide_request", lambda request: _forwarded)  # noqa: B010
