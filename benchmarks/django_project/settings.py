"""Settings of the benchmark front: a new ``startproject``, plus the front under test."""

from __future__ import annotations

import json
import os
from pathlib import Path

FRONT = os.environ.get("BENCH_FRONT", "strangler")
UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:5000")

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

# startproject's middleware, in startproject's order.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if FRONT == "strangler":
    INSTALLED_APPS.append("strangler")
    MIDDLEWARE.insert(0, "strangler.middleware.StranglerMiddleware")
    ROOT_URLCONF = "benchmarks.django_project.urls"
    # BENCH_STRANGLER: JSON merged into STRANGLER, to try other settings
    # (e.g. '{"CHUNK_SIZE": 262144}') with the same benchmark.
    STRANGLER = {"UPSTREAM": UPSTREAM, **json.loads(os.environ.get("BENCH_STRANGLER") or "{}")}
elif FRONT == "revproxy":
    INSTALLED_APPS.append("revproxy")
    ROOT_URLCONF = "benchmarks.django_project.urls_revproxy"
else:
    raise RuntimeError(f"BENCH_FRONT must be 'strangler' or 'revproxy', not {FRONT!r}")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "benchmarks.django_project.wsgi.application"

# Never touched by a forwarded request (no session is read); here because
# startproject has it.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

# BENCH_CACHE_DIR: a file cache shared by the fronts of one run (benchmarks/routing.py
# puts the switch table there, as Redis would hold it in production).
if os.environ.get("BENCH_CACHE_DIR"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ["BENCH_CACHE_DIR"],
        }
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
