"""System checks for the ``STRANGLER`` setting and the middleware.

Every id is listed, with what to do about it, in ``docs/checks.md``.
Forwarding uses E001-E019 and W001-W019; identity E020-E039 / W020-W039;
the database side E040-E059 / W040-W059.
"""

from __future__ import annotations

import difflib
import os
import uuid
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import Resolver404, resolve

from .conf import DEFAULTS, get_conf
from .forwarding.messages import parse_networks
from .forwarding.upstream import (
    UpstreamConfigError,
    WsgiUpstream,
    client_tls_context,
    parse_upstream,
)
from .routing import RoutePatternError, compiled_routes

MIDDLEWARE_PATH = "strangler.middleware.StranglerMiddleware"

_POSITIVE_NUMBERS = ("CONNECT_TIMEOUT", "READ_TIMEOUT", "CLIENT_BODY_TIMEOUT")
# One id per setting (strangler.E008 stays the timeouts'): each can be silenced alone.
_POSITIVE_INTEGERS = {"POOL_SIZE": "strangler.E112", "CHUNK_SIZE": "strangler.E113"}
_BOOLEANS = ("PRESERVE_HOST", "FORWARDED_HEADERS", "REWRITE_LOCATION", "REWRITE_COOKIE_DOMAIN")


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``STRANGLER`` is a dict of known keys with well-formed values."""
    raw, errors = dict_setting_errors(
        "STRANGLER",
        getattr(settings, "STRANGLER", {}),
        DEFAULTS,
        hint='Set STRANGLER = {"UPSTREAM": "http://127.0.0.1:5000"} in your settings.',
        not_a_dict="strangler.E001",
        unknown="strangler.E002",
    )
    if raw is None:
        return errors
    conf = get_conf()
    errors += _check_upstream(conf["UPSTREAM"])
    errors += _check_routes()
    errors += _check_scalars(conf)
    return errors


def unknown_key_error(where: str, key: object, known: dict[str, Any], id: str) -> CheckMessage:
    """An error for a settings key nobody reads (a typo), suggesting the closest known one."""
    close = difflib.get_close_matches(str(key), known, n=1)
    return Error(
        f"{where} has an unknown key {key!r}.",
        hint=f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(known)}.",
        id=id,
    )


def dict_setting_errors(
    label: str,
    value: object,
    defaults: dict[str, Any],
    *,
    hint: str,
    not_a_dict: str,
    unknown: str,
    optional: bool = False,
) -> tuple[dict[str, Any] | None, list[CheckMessage]]:
    """The shape of a settings dict (``STRANGLER`` or one nested in it): its keys known.

    Returns the dict merged over ``defaults`` and an error (id ``unknown``) for
    each key nobody reads; or ``None`` and one error (id ``not_a_dict``, with
    ``hint``) when it is not a dict. ``optional``: the message says that
    ``None`` would do too (the caller has let ``None`` through already).
    """
    if not isinstance(value, dict):
        allowed = "None or a dict" if optional else "a dict"
        message = f"{label} must be {allowed}, not {type(value).__name__}."
        return None, [Error(message, hint=hint, id=not_a_dict)]
    errors = [
        unknown_key_error(label, key, defaults, unknown) for key in value if key not in defaults
    ]
    return {**defaults, **value}, errors


def shared_cache_errors(
    alias: object, *, setting: str, missing_id: str, local_id: str, local_risk: str
) -> list[CheckMessage]:
    """The cache ``alias`` is in ``CACHES`` (else ``missing_id``) and shared between
    processes (a local-memory or dummy cache is ``local_id``, saying ``local_risk``).
    """
    caches = getattr(settings, "CACHES", None) or {"default": {}}  # Django's: a LocMemCache
    if alias not in caches:
        return [
            Error(
                f"{setting} names the cache {alias!r}, which is not in CACHES.",
                hint=f"Use one of: {', '.join(map(repr, caches))}.",
                id=missing_id,
            )
        ]
    backend = str(caches[alias].get("BACKEND", "LocMemCache"))
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [
            Warning(
                f"{setting} ({alias!r}) is a {backend.rsplit('.', 1)[-1]}, which other "
                f"processes do not share: {local_risk}.",
                hint=f"Point {setting} at a shared cache: Redis "
                "(django.core.cache.backends.redis.RedisCache), Memcached or the database.",
                id=local_id,
            )
        ]
    return []


def _check_upstream(value: object) -> list[CheckMessage]:
    try:
        upstream = parse_upstream(value)
    except UpstreamConfigError as exc:
        return [
            Error(
                f"STRANGLER['UPSTREAM'] is invalid: {exc}.",
                hint="Use Flask's base URL ('http://127.0.0.1:5000') or 'wsgi:package.module:app'.",
                id="strangler.E003",
            )
        ]
    if isinstance(upstream, WsgiUpstream):
        try:
            upstream.load()
        except UpstreamConfigError as exc:
            return [
                Error(
                    f"STRANGLER['UPSTREAM'] names a WSGI app that cannot be loaded: {exc}.",
                    hint="Check the module is importable (on sys.path) and the name of the app.",
                    id="strangler.E004",
                )
            ]
    return []


def _check_routes() -> list[CheckMessage]:
    try:
        compiled_routes()
    except RoutePatternError as exc:
        return [
            Error(
                f"STRANGLER['ROUTES'] is invalid: {exc}.",
                hint='Write rules as {"GET,HEAD /path/**": "django"}; owners are "django", '
                '"flask" or "shadow".',
                id="strangler.E007",
            )
        ]
    return []


def _check_scalars(conf: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for key in _POSITIVE_NUMBERS:
        value = conf[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            errors.append(
                Error(
                    f"STRANGLER[{key!r}] must be a positive number of seconds, not {value!r}.",
                    hint=f"The default is {DEFAULTS[key]!r}.",
                    id="strangler.E008",
                )
            )
    for key, check_id in _POSITIVE_INTEGERS.items():
        value = conf[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errors.append(
                Error(
                    f"STRANGLER[{key!r}] must be a positive integer, not {value!r}.",
                    hint=f"The default is {DEFAULTS[key]!r}.",
                    id=check_id,
                )
            )
    retries = conf["RETRIES"]
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        errors.append(
            Error(
                f"STRANGLER['RETRIES'] must be an integer >= 0, not {retries!r}.",
                hint="Retries apply only to idempotent requests that never reached the upstream.",
                id="strangler.E114",
            )
        )
    for key in _BOOLEANS:
        if not isinstance(conf[key], bool):
            errors.append(
                Error(
                    f"STRANGLER[{key!r}] must be True or False, not {conf[key]!r}.",
                    id="strangler.E009",
                )
            )
    errors += _check_trusted_proxies(conf["TRUSTED_PROXIES"])
    errors += _check_upstream_health(conf)
    errors += _check_ca_bundle(conf["UPSTREAM_CA_BUNDLE"])
    extra = conf["RESPONSE_HEADERS"]
    if not isinstance(extra, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "\n" not in v and "\r" not in v
        for k, v in extra.items()
    ):
        errors.append(
            Error(
                "STRANGLER['RESPONSE_HEADERS'] must be a dict of header name -> value (strings).",
                hint='For example {"X-Frame-Options": "DENY"}.',
                id="strangler.E010",
            )
        )
    return errors


def _check_ca_bundle(value: object) -> list[CheckMessage]:
    """``UPSTREAM_CA_BUNDLE`` is None or a PEM file of CA certificates the TLS context loads."""
    if value is None:
        return []
    if not isinstance(value, str | os.PathLike):
        problem = f"must be the path of a PEM file or None, not {value!r}"
    else:
        try:
            client_tls_context(os.fspath(value))
            problem = ""
        except OSError as exc:  # a missing file, or no certificate in it (ssl.SSLError)
            problem = f"{os.fspath(value)!r} cannot be loaded as CA certificates ({exc})"
    if not problem:
        return []
    return [
        Error(
            f"STRANGLER['UPSTREAM_CA_BUNDLE'] {problem}.",
            hint="A PEM file of the CA certificates that sign the https:// UPSTREAM's "
            "certificate, or None to use the system's trust store.",
            id="strangler.E015",
        )
    ]


def _check_trusted_proxies(value: object) -> list[CheckMessage]:
    problem = None
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problem = f"must be a list of addresses or networks, not {value!r}"
    else:
        try:
            parse_networks(value)
        except (TypeError, ValueError) as exc:
            problem = f"has an entry that is not an IP address or network: {exc}"
    if problem is None:
        return []
    return [
        Error(
            f"STRANGLER['TRUSTED_PROXIES'] {problem}.",
            hint='For example ["10.0.0.0/8", "127.0.0.1"]: the proxies in front of Django.',
            id="strangler.E011",
        )
    ]


# Keys a project sets to use only the database tools (strangler_models,
# safemigrate, strangler_drift): from a worker, CI settings or a plain Django
# project with no front door. Any other key configures forwarding.
TOOLS_ONLY_KEYS = frozenset({"SQLALCHEMY_METADATA", "FLASK_APP"})


def forwarding_configured() -> bool:
    """The front door is in use: the middleware is installed or a forwarding key is set."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    raw = getattr(settings, "STRANGLER", {})
    keys = set(raw) if isinstance(raw, dict) else set()
    return MIDDLEWARE_PATH in middleware or bool(keys - TOOLS_ONLY_KEYS)


def _check_upstream_health(conf: dict[str, Any]) -> list[CheckMessage]:
    """The fail-fast settings (``forwarding/health.py``) are usable numbers."""
    errors: list[CheckMessage] = []
    down_after = conf["UPSTREAM_DOWN_AFTER"]
    if isinstance(down_after, bool) or not isinstance(down_after, int) or down_after < 0:
        errors.append(
            Error(
                f"STRANGLER['UPSTREAM_DOWN_AFTER'] must be an integer >= 0, not {down_after!r}.",
                hint="Consecutive connect failures or timeouts before the upstream is known "
                "down (default 3); 0 never marks it down.",
                id="strangler.E012",
            )
        )
    cool_off = conf["UPSTREAM_COOL_OFF"]
    if isinstance(cool_off, bool) or not isinstance(cool_off, int | float) or cool_off <= 0:
        errors.append(
            Error(
                f"STRANGLER['UPSTREAM_COOL_OFF'] must be a positive number of seconds, "
                f"not {cool_off!r}.",
                hint="Seconds a known-down upstream is not tried before one request probes "
                "it (default 5).",
                id="strangler.E013",
            )
        )
    waiting = conf["UPSTREAM_MAX_WAITING"]
    if waiting is not None and (
        isinstance(waiting, bool) or not isinstance(waiting, int) or waiting <= 0
    ):
        errors.append(
            Error(
                f"STRANGLER['UPSTREAM_MAX_WAITING'] must be a positive integer or None, "
                f"not {waiting!r}.",
                hint="Set it below the threads of one server worker (gunicorn --threads), "
                "so a hung upstream leaves threads for Django's own pages.",
                id="strangler.E014",
            )
        )
    return errors


@register(Tags.compatibility)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``StranglerMiddleware`` is installed, and first (when forwarding is configured)."""
    if not forwarding_configured():
        return []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware:
        return [
            Error(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE, so nothing is forwarded to Flask.",
                hint=f"Add {MIDDLEWARE_PATH!r} as the first entry of MIDDLEWARE.",
                id="strangler.E005",
            )
        ]
    if middleware[0] != MIDDLEWARE_PATH:
        before = ", ".join(middleware[: middleware.index(MIDDLEWARE_PATH)])
        return [
            Warning(
                f"{MIDDLEWARE_PATH} is not first in MIDDLEWARE; {before} will run on "
                f"forwarded requests and may change Flask's answers.",
                hint="Move it to the top so forwarded answers reach clients as Flask sent them.",
                id="strangler.W001",
            )
        ]
    return []


@register(Tags.urls)
def check_catch_all(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the URLconf resolves any path at all: nothing would reach Flask."""
    if not forwarding_configured():
        return []
    probe = f"/strangler-probe-{uuid.uuid4().hex}/no/such/page"
    try:
        match = resolve(probe)
    except Resolver404:
        return []
    except Exception:
        return []
    return [
        Warning(
            f"The URLconf resolves any path (e.g. via {match.route or match.view_name!r}), "
            f"so no request falls through to Flask.",
            hint="Narrow the catch-all pattern, or list Flask's paths in STRANGLER['ROUTES'].",
            id="strangler.W002",
        )
    ]


@register(Tags.compatibility)
def check_porting(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The Flask app for the inventory loads; switches have a TTL and a cache to travel in."""
    from .inventory import FlaskAppError, load_flask_app

    errors: list[CheckMessage] = []
    conf = get_conf()
    path = conf["FLASK_APP"]
    if path is not None:
        try:
            if not isinstance(path, str) or not path.strip():
                raise FlaskAppError(f"{path!r} is not an import path", missing_attribute=True)
            load_flask_app(path)
        except FlaskAppError as exc:
            errors.append(
                Error(
                    f"STRANGLER['FLASK_APP'] cannot be loaded: {exc}.",
                    hint="Write it as 'package.module:app' (the module must import without "
                    "Django-side errors, from the front's sys.path) and check the spelling.",
                    id="strangler.E061" if exc.missing_attribute else "strangler.E060",
                )
            )
    ttl = conf["SWITCH_TTL"]
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        errors.append(
            Error(
                f"STRANGLER['SWITCH_TTL'] must be a positive number of seconds, not {ttl!r}.",
                hint="The default is 5: a switch reaches every front within 5 seconds.",
                id="strangler.E062",
            )
        )
    token = conf["METRICS_TOKEN"]
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        errors.append(
            Error(
                "STRANGLER['METRICS_TOKEN'] must be None or a secret string of at least 16 "
                "characters.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe())'",
                id="strangler.E064",
            )
        )
    errors += shared_cache_errors(
        conf["CACHE"],
        setting="STRANGLER['CACHE']",
        missing_id="strangler.E063",
        local_id="strangler.W060",
        local_risk="switches reach other workers and fronts only by expiry, and traffic is "
        "counted per process",
    )
    return errors
