"""ASGI entry point of the benchmark front (uvicorn): django-strangler's ASGI application."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.django_project.settings")

from strangler.asgi import get_asgi_application

application = get_asgi_application()
