"""Settings of a user's Django project (``DjangoProject`` in conftest.py): the app ``blog``.

The database and ``STRANGLER`` come from the environment, so one settings
module serves a project on PostgreSQL and one on a SQLite file.
"""

from __future__ import annotations

import json
import os

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
# What startproject writes is BigAutoField; the adoption tests pin AutoField
# (the legacy tables have integer ids, see docs/database.md).
DEFAULT_AUTO_FIELD = os.environ.get("STRANGLER_PROJECT_AUTO_FIELD", "django.db.models.AutoField")
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "strangler",
    "blog",
]
DATABASES = {"default": json.loads(os.environ["STRANGLER_PROJECT_DATABASE"])}
STRANGLER = json.loads(os.environ["STRANGLER_PROJECT_STRANGLER"])
