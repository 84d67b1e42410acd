"""The ``STRANGLER`` setting: every key, its default, and one line on what it does.

Projects set one dict in their settings::

    STRANGLER = {
        "UPSTREAM": "http://127.0.0.1:5000",
        "ROUTES": {"/reports/**": "flask"},
    }

Keys left out take the defaults below. ``get_conf()`` merges the project's dict
over them once and caches the result; the cache is dropped whenever a test
changes ``STRANGLER`` with ``override_settings`` (the ``setting_changed``
signal), so tests see their own values. Values are validated by the system
checks in ``strangler.checks``, not here, so that a typo is reported by
``manage.py check`` with a hint instead of crashing at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

IDENTITY_DEFAULTS: dict[str, Any] = {
    # JWT algorithm Django signs with; Flask pins the same in STRANGLER_ALGORITHMS.
    "ALGORITHM": "EdDSA",
    # PEM private key (EdDSA/ES256) or the HS256 secret; None disables identity tokens.
    "SIGNING_KEY": None,
    # "kid" put in the token header so Flask can hold several keys during a rotation.
    "KEY_ID": None,
    # "iss" claim.
    "ISSUER": "django",
    # "aud" claim.
    "AUDIENCE": "flask",
    # Token lifetime in seconds.
    "LIFETIME": 60,
    # Request header that carries the token to Flask; stripped from every client request.
    "HEADER": "X-Strangler-Identity-Token",
    # Import path of a ``(request, user) -> dict`` callable that adds or changes claims.
    "CLAIMS": None,
    # Seconds a user's groups and permissions are reused in-process (0: read every request).
    "ROLES_CACHE": 30,
    # Cut-over from Flask's login: None (off) or a dict (see FLASK_SESSION_DEFAULTS).
    "FLASK_SESSION": None,
    # The Flask app's own users table: None or a dict (see LEGACY_USERS_DEFAULTS).
    "LEGACY_USERS": None,
}

# STRANGLER["IDENTITY"]["LEGACY_USERS"]: where the Flask app keeps its users and their hashes.
LEGACY_USERS_DEFAULTS: dict[str, Any] = {
    # The table ("schema.table" for another PostgreSQL schema).
    "TABLE": "user",
    # Django database alias the table is reached through.
    "DATABASE": "default",
    # Its primary key column (the id Flask-Login keeps in Flask's session).
    "ID": "id",
    # Column with the login name; it becomes the Django username (None: use EMAIL).
    "USERNAME": "username",
    # Column with the email address (None: the table has none).
    "EMAIL": "email",
    # Column with the Werkzeug password hash (scrypt:... or pbkdf2:...).
    "PASSWORD": "password_hash",
    # Boolean column, false for users who may not log in (None: every row may).
    "ACTIVE": None,
    # What the login form's username is matched against: "username" or "email".
    "LOGIN_FIELD": "username",
}

# STRANGLER["IDENTITY"]["FLASK_SESSION"]: accept a Flask-Login session cookie once.
FLASK_SESSION_DEFAULTS: dict[str, Any] = {
    # Flask's SECRET_KEY (required); the cookie is verified with it as Flask does.
    "SECRET_KEY": None,
    # Flask's SESSION_COOKIE_NAME.
    "COOKIE_NAME": "session",
    # Flask's SESSION_COOKIE_PATH, to delete the cookie once used.
    "COOKIE_PATH": "/",
    # Flask's SESSION_COOKIE_DOMAIN, to delete the cookie once used.
    "COOKIE_DOMAIN": None,
    # Seconds a Flask cookie stays valid (Flask's PERMANENT_SESSION_LIFETIME, 31 days).
    "MAX_AGE": 31 * 24 * 3600,
    # Import path of a ``(flask_user_id: str) -> Django user | None``; None looks up the pk.
    "USER": None,
    # End of the cut-over window (ISO 8601 with a time zone): no Flask cookie is read after it.
    "UNTIL": None,
}

# STRANGLER["SHADOW"]: compare ported views with Flask on real traffic (docs/shadow.md).
SHADOW_DEFAULTS: dict[str, Any] = {
    # Share (0.0-1.0) of a shadow route's requests replayed to Flask and compared.
    "SAMPLE": 1.0,
    # Per-route overrides, pattern -> {"SAMPLE": 0.1, "IGNORE": [...], "METHODS": ["POST"]}.
    # METHODS opts unsafe methods in: Flask then runs the write a second time. Read the docs.
    "ROUTES": {},
    # Field patterns left out of every comparison, e.g. ["body.**.updated_at"].
    "IGNORE": [],
    # Response headers whose values are compared (status and body always are).
    "HEADERS": ["Content-Type", "Location", "Content-Disposition", "Cache-Control"],
    # Shadowed requests waiting for a worker; when full, new ones are dropped and counted.
    "QUEUE_SIZE": 1000,
    # Worker threads per process sending shadowed requests to Flask.
    "WORKERS": 2,
    # Run shadow work in a child process of each front process (True) or in its threads
    # (False); None: a child process where AF_UNIX SOCK_SEQPACKET exists (Linux).
    "PROCESS": None,
    # The first N requests of each route are sent to Flask twice, to learn noisy fields.
    "NOISE_WARMUP": 5,
    # Share of later requests also sent twice, to keep learning noise.
    "NOISE_SAMPLE": 0.05,
    # Answers larger than this (bytes) have only their status and headers compared.
    "MAX_BODY": 1024 * 1024,
    # Request bodies larger than this (bytes) are not replayed (opted-in unsafe methods).
    "MAX_REQUEST_BODY": 64 * 1024,
    # Characters of each answer's body stored with a difference (redacted first).
    "STORED_BODY": 16 * 1024,
    # Differences kept in the database; older ones are deleted.
    "KEEP": 1000,
    # More header, query-parameter and JSON key names to redact before storing.
    "REDACT": [],
    # Share (0.0-1.0) of safe forwarded requests recorded for strangler_replay; 0 is off.
    "RECORD": 0.0,
    # Patterns of the forwarded routes recorded; empty records every route.
    "RECORD_ROUTES": [],
    # Recorded requests kept in the database; older ones are deleted.
    "RECORD_KEEP": 10000,
}

DEFAULTS: dict[str, Any] = {
    # Where unported requests go: Flask's base URL, or "wsgi:package.module:app"
    # to call the Flask WSGI app in-process without a socket.
    "UPSTREAM": "http://127.0.0.1:5000",
    # Deploy-time rules, "[METHODS ]PATTERN" -> "django", "flask" or "shadow". The first
    # matching rule wins; "*" matches within one path segment, "**" across segments.
    "ROUTES": {},
    # Seconds a front keeps its copy of the RouteSwitch table before asking the cache again.
    "SWITCH_TTL": 5,
    # Django cache alias sharing switches and traffic between workers and fronts (Redis).
    "CACHE": "default",
    # Count hits, status classes and latency per route (see docs/porting.md).
    "TRAFFIC": True,
    # Seconds between merges of a process's traffic counts into the shared cache.
    "TRAFFIC_FLUSH": 10,
    # Secret a Prometheus scraper sends as "Authorization: Bearer ..." to read
    # /_strangler/metrics without a staff login; None: staff only.
    "METRICS_TOKEN": None,
    # Seconds to wait for a TCP (and TLS) connection to the upstream: 504 after.
    "CONNECT_TIMEOUT": 5.0,
    # Seconds to wait for each read from (or write to) the upstream: 504 after.
    "READ_TIMEOUT": 60.0,
    # Seconds to wait for each piece of a client's request body: 408 after (gunicorn).
    "CLIENT_BODY_TIMEOUT": 30.0,
    # Idle keep-alive connections kept per process for the HTTP transport.
    "POOL_SIZE": 16,
    # Extra attempts for idempotent requests whose connection could not be made.
    "RETRIES": 1,
    # Consecutive connect failures or timeouts (not 5xx answers) after which the upstream is
    # known down and forwarded requests get a 503 at once (docs/forwarding.md); 0: never.
    "UPSTREAM_DOWN_AFTER": 3,
    # Seconds a known-down upstream is not tried; then one request probes it.
    "UPSTREAM_COOL_OFF": 5.0,
    # Most forwarded requests of one process waiting at once for the upstream's answer;
    # more get a 503 at once. None: unbounded. Keep it below your server's threads.
    "UPSTREAM_MAX_WAITING": None,
    # Bytes read at a time when streaming bodies in either direction.
    "CHUNK_SIZE": 64 * 1024,
    # PEM file of the CA certificates an https:// UPSTREAM is verified against, instead of
    # the system's (for a private CA). None: the system's trust store.
    "UPSTREAM_CA_BUNDLE": None,
    # Send the client's Host to the upstream instead of the upstream's own host.
    "PRESERVE_HOST": False,
    # Add X-Forwarded-For (appended), -Proto, -Host and -Prefix to forwarded requests.
    "FORWARDED_HEADERS": True,
    # Addresses or CIDR networks of proxies before Django whose Forwarded, X-Forwarded-*
    # and X-Real-IP headers are passed on; from any other peer they are dropped.
    "TRUSTED_PROXIES": [],
    # Rewrite Location headers that point at the upstream so they point at the front.
    "REWRITE_LOCATION": True,
    # Drop a Set-Cookie Domain attribute naming the upstream host (cookie becomes the front's).
    "REWRITE_COOKIE_DOMAIN": True,
    # Headers added to forwarded responses that lack them, e.g. {"X-Frame-Options": "DENY"}.
    # Forwarded responses otherwise reach the client exactly as Flask sent them.
    "RESPONSE_HEADERS": {},
    # Threads the in-process ("wsgi:") upstream runs in under strangler.asgi: the most
    # forwarded requests it serves at once; more wait for a thread, the event loop never blocks.
    "ASGI_THREADS": 32,
    # Import path of the Flask app object, for the route inventory.
    "FLASK_APP": None,
    # Import path of the SQLAlchemy declarative base or MetaData, for ownership and drift.
    "SQLALCHEMY_METADATA": None,
    # The identity token minted for every forwarded request (see IDENTITY_DEFAULTS).
    "IDENTITY": IDENTITY_DEFAULTS,
    # Shadow mode and request recording (see SHADOW_DEFAULTS).
    "SHADOW": SHADOW_DEFAULTS,
}

# Keys whose value is a dict merged key by key over its own defaults.
NESTED = {"IDENTITY": IDENTITY_DEFAULTS, "SHADOW": SHADOW_DEFAULTS}


_T = TypeVar("_T")
_MISSING: Any = object()
_registry: list[ConfCached[Any]] = []


class ConfCached(Generic[_T]):
    """A value built from ``STRANGLER`` once, rebuilt after the setting changes.

    For what is derived from the settings once per process (the merged dict,
    compiled routes, the transport and its connection pool), so that a test's
    ``override_settings`` is seen at once. A dropped value with a ``close()``
    method is closed, so pooled connections are not leaked.
    """

    def __init__(self, build: Callable[[], _T]) -> None:
        self._build = build
        self._value: _T = _MISSING
        self._lock = threading.Lock()
        self.__doc__ = build.__doc__
        _registry.append(self)

    def __call__(self) -> _T:
        value = self._value
        if value is _MISSING:
            # Built once even when threads ask at once (a server's request threads,
            # shadow's workers): two worker pools or two noise models must not exist.
            with self._lock:
                value = self._value
                if value is _MISSING:
                    value = self._value = self._build()
        return value

    def cache_clear(self) -> None:
        """Forget (and close) the built value."""
        value, self._value = self._value, _MISSING
        close = getattr(value, "close", None)
        if value is not _MISSING and callable(close):
            close()


def conf_cache(build: Callable[[], _T]) -> ConfCached[_T]:
    """Decorator: cache ``build()`` until ``STRANGLER`` changes (see ``ConfCached``)."""
    return ConfCached(build)


@conf_cache
def get_conf() -> dict[str, Any]:
    """Return ``settings.STRANGLER`` merged over ``DEFAULTS`` (cached).

    A value of the wrong type is passed through untouched for the system checks
    to report; only well-formed nested dicts are merged.
    """
    user = getattr(settings, "STRANGLER", None)
    if not isinstance(user, dict):
        user = {}
    conf = {**DEFAULTS, **user}
    for key, defaults in NESTED.items():
        value = user.get(key)
        conf[key] = {**defaults, **value} if isinstance(value, dict) else (value or dict(defaults))
    return conf


@receiver(setting_changed)
def _reset_conf(*, setting: str, **kwargs: Any) -> None:
    if setting == "STRANGLER":
        for cached in _registry:
            cached.cache_clear()
