"""The Django site taking over the legacy lab app (demo settings, not for production)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-key")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
TIME_ZONE = "UTC"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "strangler",
]

MIDDLEWARE = [
    "strangler.middleware.StranglerMiddleware",  # the front door: first
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "examples.labs.site.urls"
WSGI_APPLICATION = "examples.labs.site.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LABS_DATABASE", BASE_DIR / "labs.sqlite3"),
    }
}

STRANGLER = {
    # The legacy Flask app; "wsgi:examples.labs.legacy.app:app" runs it in-process instead.
    "UPSTREAM": os.environ.get("LABS_UPSTREAM", "http://127.0.0.1:5000"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"strangler": {"handlers": ["console"], "level": "INFO"}},
}
