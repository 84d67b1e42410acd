"""Settings of the Django front for benchmarks/shadow.py: startproject's stack, strangler first.

``/api/items`` is Django's (a faithful port, ``benchmarks/shadow_app.py``).
With ``BENCH_SHADOW=1`` its owner is ``shadow`` at 100% sampling: Django
answers and every request is replayed to Flask (``BENCH_UPSTREAM``) and
compared; tallies go to the SQLite file ``BENCH_DB`` that the benchmark
migrated.
"""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "strangler",
]
MIDDLEWARE = [
    "strangler.middleware.StranglerMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "benchmarks.shadow_app"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", ":memory:"),
        "CONN_MAX_AGE": 600,
        "OPTIONS": {"timeout": 30},
    }
}

STRANGLER: dict[str, Any] = {
    "UPSTREAM": os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:5000"),
    "SHADOW": {"SAMPLE": 1.0},
}
if os.environ.get("BENCH_SHADOW") == "1":
    STRANGLER["ROUTES"] = {"/api/items": "shadow"}
