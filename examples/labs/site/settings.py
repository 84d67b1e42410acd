"""The Django site taking over the legacy lab app: the front door of the demo.

Demo settings: DEBUG is on and the keys come from ``examples/labs/var``
(``make demo`` makes them). docs/production.md says what changes in production.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from examples.labs.legacy.config import var_dir

BASE_DIR = Path(__file__).resolve().parent
VAR = var_dir()

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-key")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "UTC"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "strangler",
    "examples.labs.site.accounts",  # legacy roles as Django groups
    "examples.labs.site.labs",  # tables adopted from the legacy app
    "examples.labs.site.instruments",  # greenfield: only Django has it
]

MIDDLEWARE = [
    "strangler.middleware.StranglerMiddleware",  # the front door: first
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "examples.labs.site.urls"
WSGI_APPLICATION = "examples.labs.site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database() -> dict[str, object]:
    """``DATABASE_URL`` (PostgreSQL), else the SQLite files the legacy app uses too."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        return {
            "ENGINE": "strangler.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": parts.port or "",
        }
    # demo.sqlite3, and demo.labs.sqlite3 / demo.events.sqlite3 attached as the schemas.
    return {"ENGINE": "strangler.db.backends.sqlite3", "NAME": VAR / "demo.sqlite3"}


DATABASES = {"default": database()}
# The legacy tables have integer ids; Django must expect the same (docs/database.md).
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

LOGIN_URL = "/login"  # the legacy app's login URL: Flask-Login's redirects land here
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login"
# Legacy users log in with their legacy password: the backend finds them in the
# legacy users table and creates their Django user; the hasher reads the Werkzeug
# hash, which Django then upgrades to its own.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "strangler.identity.legacy.LegacyUserBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "strangler.identity.hashers.WerkzeugPasswordHasher",  # last: only reads legacy hashes
]

# /static/ is Django's (the front door never forwards STATIC_URL): WhiteNoise serves it.
STATIC_URL = "/static/"
STATIC_ROOT = VAR / "static"
STATICFILES_DIRS = [Path(__file__).resolve().parent.parent / "legacy" / "static"]
# Switches and traffic are shared by every worker through the cache (Redis in production).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR / "cache",
    }
}
SESSION_COOKIE_NAME = "sessionid"  # Flask's is "labs_session": two cookies, no clash

_keys_file = VAR / "keys.json"
_keys = json.loads(_keys_file.read_text()) if _keys_file.exists() else {}

STRANGLER = {
    "UPSTREAM": os.environ.get("LABS_UPSTREAM", "http://127.0.0.1:5000"),
    "FLASK_APP": "examples.labs.legacy.app:app",
    "SQLALCHEMY_METADATA": "examples.labs.legacy.models:Base",
    # STATIC_URL is Django's (WhiteNoise serves it), never a Flask 404.
    "ROUTES": {
        # Ported, not trusted yet: Django answers, Flask's answer to the same request
        # is compared off the request path (manage.py strangler_shadow lists differences).
        "GET /api/experiments": "shadow",
    },
    "IDENTITY": {
        "SIGNING_KEY": _keys.get("private_key"),
        "KEY_ID": _keys.get("kid"),
        "LEGACY_USERS": {"TABLE": "users", "ACTIVE": "active"},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"strangler": {"handlers": ["console"], "level": "INFO"}},
}
