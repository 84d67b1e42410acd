"""A project that uses only the database tools: no front door, no forwarding keys.

What a worker, CI settings or a plain Django project doing the adoption has:
the strangler app for its commands, the SQLAlchemy metadata, and nothing else.
"""

from __future__ import annotations

from tests.database import database_settings

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "strangler",
]
MIDDLEWARE: list[str] = []
DATABASES = {"default": {**database_settings(), "ENGINE": "strangler.db.backends.postgresql"}}
STRANGLER = {"SQLALCHEMY_METADATA": "tests.db.legacy.models:Base"}
