"""System checks for ``STRANGLER["IDENTITY"]``: ids strangler.E020-E039 / W020-W039, E100-.

Every id is listed, with what to do about it, in ``docs/checks.md``. Where
Django can see the Flask app (``STRANGLER["FLASK_APP"]`` or a ``wsgi:``
upstream), its ``STRANGLER_*`` config is checked against Django's too, so
that a key or audience mismatch is found by ``manage.py check`` rather than
by every user appearing logged out.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.debug import SafeExceptionReporterFilter

from ..checks import dict_setting_errors
from ..conf import FLASK_SESSION_DEFAULTS, IDENTITY_DEFAULTS, LEGACY_USERS_DEFAULTS, get_conf
from .flask_cookie import parse_until
from .tokens import ALGORITHMS, MAX_LEEWAY, KeyConfigError, load_signing_key, load_verifying_key

AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
# Spelled out rather than imported: importing the cut-over module needs
# django.contrib.auth installed, and these checks run in every project.
BACKEND_PATH = "strangler.identity.cutover.FlaskSessionBackend"
MIDDLEWARE_PATH = "strangler.identity.cutover.FlaskSessionMiddleware"
LEGACY_BACKEND_PATH = "strangler.identity.legacy.LegacyUserBackend"
WERKZEUG_HASHER_PATH = "strangler.identity.hashers.WerkzeugPasswordHasher"
# Beyond this, a token copied from a log or a proxy stays useful for too long.
MAX_LIFETIME = 300
# RFC 9110 §5.6.2 token characters.
_FIELD_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset(
    {"host", "cookie", "content-length", "content-type", "connection", "transfer-encoding"}
)


@register(Tags.security)
def check_identity(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``STRANGLER["IDENTITY"]``: keys, claims, lifetime, header, and the cut-over."""
    raw = getattr(settings, "STRANGLER", None)
    raw_identity = raw.get("IDENTITY") if isinstance(raw, dict) else None
    if raw_identity is None:
        return []  # identity not configured: tokens are off, nothing to check
    shaped, errors = dict_setting_errors(
        "STRANGLER['IDENTITY']",
        raw_identity,
        IDENTITY_DEFAULTS,
        hint='For example {"SIGNING_KEY": "<PEM from manage.py strangler_keys>"}.',
        not_a_dict="strangler.E020",
        unknown="strangler.E021",
        optional=True,
    )
    if shaped is None:
        return errors
    identity = get_conf()["IDENTITY"]
    errors += _check_key(identity)
    errors += _check_claims(identity)
    errors += _check_header(identity["HEADER"])
    errors += _check_cutover(identity["FLASK_SESSION"])
    errors += _check_legacy_users(identity["LEGACY_USERS"])
    if identity["SIGNING_KEY"] and not errors:
        errors += _check_flask_app(identity)
    return errors


def _check_key(identity: dict[str, Any]) -> list[CheckMessage]:
    algorithm = identity["ALGORITHM"]
    if algorithm not in ALGORITHMS:
        return [
            Error(
                f"STRANGLER['IDENTITY']['ALGORITHM'] is {algorithm!r}.",
                hint=f"Use one of {', '.join(ALGORITHMS)} (EdDSA, the default, is recommended).",
                id="strangler.E022",
            )
        ]
    key = identity["SIGNING_KEY"]
    if key is None:
        return [
            Warning(
                "STRANGLER['IDENTITY'] has no SIGNING_KEY: no identity token is sent, "
                "so Flask sees every request as anonymous.",
                hint="Run `manage.py strangler_keys` and paste the settings it prints.",
                id="strangler.W020",
            )
        ]
    try:
        load_signing_key(algorithm, key, identity["KEY_ID"])
    except KeyConfigError as exc:
        return [
            Error(
                f"STRANGLER['IDENTITY']['SIGNING_KEY'] cannot sign {algorithm}: {exc}.",
                hint="Run `manage.py strangler_keys` for a new key pair.",
                id="strangler.E023",
            )
        ]
    errors: list[CheckMessage] = []
    if algorithm == "HS256":
        secret = key.encode() if isinstance(key, str) else key
        django_secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        if any(secret == (s.encode() if isinstance(s, str) else s) for s in django_secrets if s):
            errors.append(
                Error(
                    "The HS256 SIGNING_KEY is Django's SECRET_KEY.",
                    hint="Use a separate random secret (manage.py strangler_keys --algorithm "
                    "HS256): Flask must not hold the key that signs Django's sessions.",
                    id="strangler.E024",
                )
            )
    return errors


def _check_claims(identity: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in ("ISSUER", "AUDIENCE"):
        value = identity[name]
        if not isinstance(value, str) or not value.strip():
            errors.append(
                Error(
                    f"STRANGLER['IDENTITY'][{name!r}] must be a non-empty string, not {value!r}.",
                    hint=f"The default is {IDENTITY_DEFAULTS[name]!r}; Flask checks the same "
                    f"value (STRANGLER_{name}).",
                    id="strangler.E025",
                )
            )
    lifetime = identity["LIFETIME"]
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        errors.append(
            Error(
                f"STRANGLER['IDENTITY']['LIFETIME'] must be a positive number of seconds, "
                f"not {lifetime!r}.",
                hint="The default is 60.",
                id="strangler.E026",
            )
        )
    elif lifetime > MAX_LIFETIME:
        errors.append(
            Warning(
                f"STRANGLER['IDENTITY']['LIFETIME'] is {lifetime} s; a token is used once, "
                f"within milliseconds of being minted.",
                hint=f"Keep it at most {MAX_LIFETIME} s (the default is 60): a longer "
                f"lifetime only helps whoever copies a token.",
                id="strangler.W027",
            )
        )
    ttl = identity["ROLES_CACHE"]
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
        errors.append(
            Error(
                f"STRANGLER['IDENTITY']['ROLES_CACHE'] must be a number of seconds >= 0, "
                f"not {ttl!r}.",
                hint="The default is 30; 0 reads groups and permissions on every request.",
                id="strangler.E039",
            )
        )
    path = identity["CLAIMS"]
    problem = _not_callable(path) if path else None
    if problem:
        errors.append(
            Error(
                f"STRANGLER['IDENTITY']['CLAIMS'] {path!r} cannot be used: {problem}.",
                hint="Name a (request, user) -> dict function, e.g. 'myproject.claims.extra'.",
                id="strangler.E030",
            )
        )
    return errors


def _not_callable(path: str) -> str | None:
    """Why the dotted ``path`` names no callable (cannot be imported, or is not callable)."""
    try:
        target = import_string(path)
    except ImportError as exc:
        return str(exc)
    return None if callable(target) else "it is not callable"


def _check_header(header: object) -> list[CheckMessage]:
    if (
        not isinstance(header, str)
        or not _FIELD_NAME.match(header)
        or header.lower() in _RESERVED_HEADERS
    ):
        return [
            Error(
                f"STRANGLER['IDENTITY']['HEADER'] {header!r} is not a usable header name.",
                hint="Use the default 'X-Strangler-Identity-Token', or 'Authorization'.",
                id="strangler.E028",
            )
        ]
    meta_key = "HTTP_" + header.upper().replace("-", "_")
    if not SafeExceptionReporterFilter.hidden_settings.search(meta_key):
        return [
            Warning(
                f"Django's error reports would show the {header!r} header (the token) unredacted.",
                hint="Use a header name containing TOKEN or AUTH, like the default "
                "'X-Strangler-Identity-Token'.",
                id="strangler.W029",
            )
        ]
    return []


def _check_cutover(value: object) -> list[CheckMessage]:
    if value is None:
        return []
    conf, errors = dict_setting_errors(
        "STRANGLER['IDENTITY']['FLASK_SESSION']",
        value,
        FLASK_SESSION_DEFAULTS,
        hint='For example {"SECRET_KEY": "<Flask\'s SECRET_KEY>"}.',
        not_a_dict="strangler.E031",
        unknown="strangler.E100",
        optional=True,
    )
    if conf is None:
        return errors
    if not conf["SECRET_KEY"]:
        errors.append(
            Error(
                "The cut-over (FLASK_SESSION) has no SECRET_KEY.",
                hint="Set it to the Flask app's SECRET_KEY (a list for SECRET_KEY_FALLBACKS).",
                id="strangler.E101",
            )
        )
    problem = _not_callable(conf["USER"]) if conf["USER"] else None
    if problem:
        errors.append(
            Error(
                f"FLASK_SESSION['USER'] {conf['USER']!r} cannot be used: {problem}.",
                hint="Name a (flask_user_id: str) -> user-or-None function.",
                id="strangler.E102",
            )
        )
    errors += _check_until(conf["UNTIL"])
    backends = list(getattr(settings, "AUTHENTICATION_BACKENDS", []))
    if BACKEND_PATH not in backends:
        errors.append(
            Error(
                f"The cut-over is on but {BACKEND_PATH} is not in AUTHENTICATION_BACKENDS.",
                hint=f"Add {BACKEND_PATH!r} after Django's ModelBackend.",
                id="strangler.E032",
            )
        )
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware or (
        AUTH_MIDDLEWARE in middleware
        and middleware.index(MIDDLEWARE_PATH) < middleware.index(AUTH_MIDDLEWARE)
    ):
        errors.append(
            Error(
                f"The cut-over is on but {MIDDLEWARE_PATH} is not in MIDDLEWARE after "
                f"AuthenticationMiddleware: Django pages will not log Flask users in.",
                hint=f"Put {MIDDLEWARE_PATH!r} right after {AUTH_MIDDLEWARE!r}.",
                id="strangler.E033",
            )
        )
    if conf["COOKIE_NAME"] == settings.SESSION_COOKIE_NAME:
        errors.append(
            Error(
                f"Flask's and Django's session cookies are both named {conf['COOKIE_NAME']!r}.",
                hint="Rename Django's (SESSION_COOKIE_NAME) so both can live side by side.",
                id="strangler.E034",
            )
        )
    return errors


def _check_legacy_users(value: object) -> list[CheckMessage]:
    if value is None:
        return []
    conf, errors = dict_setting_errors(
        "STRANGLER['IDENTITY']['LEGACY_USERS']",
        value,
        LEGACY_USERS_DEFAULTS,
        hint='For example {"TABLE": "user", "PASSWORD": "password_hash"}.',
        not_a_dict="strangler.E105",
        unknown="strangler.E106",
        optional=True,
    )
    if conf is None:
        return errors
    login_field = conf["LOGIN_FIELD"]
    if login_field not in ("username", "email") or not conf[str(login_field).upper()]:
        errors.append(
            Error(
                f"LEGACY_USERS['LOGIN_FIELD'] is {login_field!r}, which names no column.",
                hint="'username' or 'email', with that column (USERNAME or EMAIL) set.",
                id="strangler.E107",
            )
        )
    if conf["DATABASE"] not in settings.DATABASES:
        errors.append(
            Error(
                f"LEGACY_USERS['DATABASE'] {conf['DATABASE']!r} is not in DATABASES.",
                hint="Name the database alias the Flask app's users table is reached through.",
                id="strangler.E108",
            )
        )
    hashers = list(getattr(settings, "PASSWORD_HASHERS", []))
    if WERKZEUG_HASHER_PATH not in hashers:
        errors.append(
            Error(
                f"LEGACY_USERS is set but {WERKZEUG_HASHER_PATH} is not in PASSWORD_HASHERS: "
                f"legacy users' passwords cannot be checked.",
                hint="Add it after Django's own hashers.",
                id="strangler.E109",
            )
        )
    elif hashers[0] == WERKZEUG_HASHER_PATH:
        errors.append(
            Error(
                f"{WERKZEUG_HASHER_PATH} is first in PASSWORD_HASHERS, so Django would hash "
                f"every new password with it.",
                hint="Put it after Django's hashers: it is there to read legacy hashes only.",
                id="strangler.E110",
            )
        )
    backends = list(getattr(settings, "AUTHENTICATION_BACKENDS", []))
    if LEGACY_BACKEND_PATH not in backends:
        errors.append(
            Warning(
                f"LEGACY_USERS is set but {LEGACY_BACKEND_PATH} is not in "
                f"AUTHENTICATION_BACKENDS: only users imported with `manage.py "
                f"strangler_import_users` can log in.",
                hint="Add it after Django's ModelBackend, or import the users.",
                id="strangler.W111",
            )
        )
    return errors


def _check_until(value: object) -> list[CheckMessage]:
    try:
        until = parse_until(value)
    except ValueError as exc:
        return [
            Error(
                f"FLASK_SESSION['UNTIL'] cannot be used: {exc}.",
                hint="An ISO 8601 date and time with a time zone, e.g. '2027-01-31T00:00:00Z', "
                "or an aware datetime.",
                id="strangler.E103",
            )
        ]
    if until is not None and timezone.now() >= until:
        return [
            Warning(
                f"The cut-over window ended at {until.isoformat()}: Flask cookies are ignored.",
                hint="Remove FLASK_SESSION, FlaskSessionBackend and FlaskSessionMiddleware "
                "(docs/identity.md, 'When to switch it off').",
                id="strangler.W104",
            )
        ]
    return []


def _flask_app() -> Any:
    # One loader for the Flask app (the inventory's); why it fails is reported
    # by strangler.E060/E061 (FLASK_APP) or strangler.E004 (a wsgi: UPSTREAM).
    from ..inventory import FlaskAppError, flask_app_path, load_flask_app

    path = flask_app_path()
    if path is None:
        return None
    try:
        return load_flask_app(path)
    except FlaskAppError:
        return None


def _check_flask_app(identity: dict[str, Any]) -> list[CheckMessage]:
    app = _flask_app()
    config = getattr(app, "config", None)
    extensions = getattr(app, "extensions", None)
    if not isinstance(config, dict) or not isinstance(extensions, dict):
        return []  # not a Flask app Django can see: nothing to compare
    if "strangler" not in extensions:
        return [
            Warning(
                "The Flask app does not use strangler.flask.DjangoIdentity, so it ignores "
                "the identity token.",
                hint="Add `DjangoIdentity(app)` (docs/identity.md).",
                id="strangler.W036",
            )
        ]
    errors: list[CheckMessage] = []
    key = load_signing_key(identity["ALGORITHM"], identity["SIGNING_KEY"], identity["KEY_ID"])
    trusted = config.get("STRANGLER_VERIFYING_KEYS") or {}
    try:
        if isinstance(trusted, dict):
            kids = {load_verifying_key(v, kid=str(k)).kid for k, v in trusted.items()}
        else:
            kids = {load_verifying_key(v).kid for v in trusted}
    except KeyConfigError as exc:
        kids = set()
        errors.append(
            Error(
                f"The Flask app's STRANGLER_VERIFYING_KEYS cannot be used: {exc}.",
                hint="Paste the Flask settings `manage.py strangler_keys` printed.",
                id="strangler.E037",
            )
        )
    mismatches = []
    if key.kid not in kids:
        mismatches.append(f"it does not trust the signing key (kid {key.kid!r})")
    if identity["ALGORITHM"] not in (config.get("STRANGLER_ALGORITHMS") or []):
        mismatches.append(f"STRANGLER_ALGORITHMS does not allow {identity['ALGORITHM']}")
    for name in ("ISSUER", "AUDIENCE"):
        if config.get(f"STRANGLER_{name}") != identity[name]:
            mismatches.append(f"STRANGLER_{name} is not {identity[name]!r}")
    if config.get("STRANGLER_IDENTITY_HEADER", "").lower() != identity["HEADER"].lower():
        mismatches.append(f"STRANGLER_IDENTITY_HEADER is not {identity['HEADER']!r}")
    if mismatches and not errors:
        errors.append(
            Error(
                "The Flask app would refuse Django's tokens: " + "; ".join(mismatches) + ".",
                hint="Give both sides the settings `manage.py strangler_keys` prints.",
                id="strangler.E037",
            )
        )
    leeway = config.get("STRANGLER_LEEWAY")
    if (
        isinstance(leeway, bool)
        or not isinstance(leeway, int | float)
        or not 0 <= leeway <= MAX_LEEWAY
    ):
        errors.append(
            Warning(
                f"The Flask app's STRANGLER_LEEWAY is {leeway!r}, outside 0-{MAX_LEEWAY} s: "
                f"DjangoIdentity refuses to start with it.",
                hint=f"Keep it between 0 and {MAX_LEEWAY} s (default 5): synchronise clocks "
                f"instead of widening the window.",
                id="strangler.W038",
            )
        )
    return errors
