"""Settings for the test suite: a new ``startproject``'s stack behind the strangler."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from typing import Any

from tests.database import database_settings

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost", "front.example"]
USE_TZ = True
# Pinned: Django 6.0 changed the default to BigAutoField, and the legacy
# (Alembic) tables the tests adopt have integer ids, as Django 5.2 makes them.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "strangler",
    "tests",
    "tests.db.schema_app",
    "tests.db.adopt_app",
]

# What `django-admin startproject` writes, with the front door first.
MIDDLEWARE = [
    "strangler.middleware.StranglerMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

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

# The schema-aware backend: stock Django PostgreSQL plus (schema, table) lookups.
DATABASES = {"default": {**database_settings(), "ENGINE": "strangler.db.backends.postgresql"}}
# The Flask-Migrate app's database (tests/db/flask_app): one of its own, as a real
# Flask app has, so its ``user`` table and the identity tests' legacy ``user`` table
# in ``default`` coexist. Django's tables are migrated into it too (a shared
# database, as users run); created only for the tests that ask for it.
DATABASES["flask"] = {
    **DATABASES["default"],
    "NAME": f"{DATABASES['default']['NAME']}_flask",
    "TEST": {"NAME": f"{DATABASES['default']['TEST']['NAME']}_flask"},
}

STRANGLER = {
    "UPSTREAM": os.environ.get("STRANGLER_TEST_UPSTREAM", "http://127.0.0.1:9"),
    "READ_TIMEOUT": 10.0,
    # Live fronts (gunicorn subprocesses) take extra keys from the test that starts them.
    **json.loads(os.environ.get("STRANGLER_TEST_EXTRA", "{}")),
}

# A file cache of this process's own: shared by processes like Redis would be
# (no W060), with nothing to start; fronts started by the switch tests share
# a throwaway Redis instead.
_CACHE_DIR = tempfile.mkdtemp(prefix="strangler-tests-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, ignore_errors=True)
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": _CACHE_DIR,
    }
}
if os.environ.get("STRANGLER_TEST_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["STRANGLER_TEST_REDIS_URL"],
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"strangler": {"handlers": ["console"], "level": "INFO"}},
}
