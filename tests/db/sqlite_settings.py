"""Settings for the embedded mode: the schema models on SQLite, one file per schema."""

from __future__ import annotations

import os

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "strangler",
    "tests.db.schema_app",
]
DATABASES = {
    "default": {
        "ENGINE": "strangler.db.backends.sqlite3",
        "NAME": os.path.join(os.environ["STRANGLER_SQLITE_DIR"], "db.sqlite3"),
    }
}
STRANGLER: dict[str, object] = {}
