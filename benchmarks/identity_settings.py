"""Settings of the Django front for benchmarks/identity.py: startproject's stack, strangler first.

Every path is forwarded (the URLconf is empty). Identity is on when
``BENCH_SIGNING_KEY`` is set; ``BENCH_MODES`` lets each request choose off,
reads only or on (benchmarks/identity_modes.py).
Users and sessions live in the SQLite file ``BENCH_DB`` that the benchmark
prepares.
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
ROOT_URLCONF = __name__
urlpatterns: list[Any] = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", ":memory:"),
        # Persistent connections, as production runs: otherwise every request
        # that reads its session also opens a database connection.
        "CONN_MAX_AGE": 600,
    }
}

if os.environ.get("BENCH_MODES"):
    # Identity off, reads only or on, per request (X-Bench-Identity), in one process.
    INSTALLED_APPS.append("benchmarks.identity_modes.ModesConfig")

STRANGLER: dict[str, Any] = {"UPSTREAM": os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:5000")}
if os.environ.get("BENCH_SIGNING_KEY"):
    STRANGLER["IDENTITY"] = {"SIGNING_KEY": os.environ["BENCH_SIGNING_KEY"]}
