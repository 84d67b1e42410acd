"""The Flask side of one login: verify Django's identity token on every request.

Imported as ``strangler.flask``; see that module for the public names. This
module must never import Django (the uni-directional rule): an import-linter
contract in ``pyproject.toml`` keeps it true.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlencode

from flask import Flask, Response, abort, current_app, g, redirect, request, session
from flask.typing import ResponseReturnValue
from werkzeug.local import LocalProxy
from werkzeug.wrappers import Response as WerkzeugResponse

from .flask_users import check_user_config, load_user_by_lookup
from .tokens import (
    ANONYMOUS,
    MAX_LEEWAY,
    MAX_TOKEN_SIZE,
    Identity,
    InvalidToken,
    KeyConfigError,
    TokenVerifier,
    VerifyingKey,
    environ_binding,
    load_verifying_key,
)

__all__ = [
    "CONFIG_DEFAULTS",
    "DjangoIdentity",
    "current_identity",
    "login_required",
    "roles_required",
]

logger = logging.getLogger("strangler.flask")

EXTENSION_KEY = "strangler"

CONFIG_DEFAULTS: dict[str, Any] = {
    # Algorithms a token may use; pin exactly what Django signs with.
    "STRANGLER_ALGORITHMS": ["EdDSA"],
    # Trusted keys: {kid: PEM public key or HS256 secret}, or a list of them
    # (each kid then being the key's RFC 7638 thumbprint, as Django computes it).
    "STRANGLER_VERIFYING_KEYS": {},
    # Expected "iss" and "aud", the same as Django's IDENTITY ISSUER / AUDIENCE.
    "STRANGLER_ISSUER": "django",
    "STRANGLER_AUDIENCE": "flask",
    # Header carrying the token ("Authorization" means "Authorization: Bearer <token>").
    "STRANGLER_IDENTITY_HEADER": "X-Strangler-Identity-Token",
    # Seconds of clock difference tolerated between Django and Flask (0 to MAX_LEEWAY, 30).
    "STRANGLER_LEEWAY": 5,
    # Refuse (403) every request without a valid token: only Django may call Flask.
    "STRANGLER_STRICT": False,
    # Tokens longer than this are refused without being parsed.
    "STRANGLER_MAX_TOKEN_SIZE": MAX_TOKEN_SIZE,
    # The app's own users (SQLAlchemy model or "module:Class") when ids differ from Django's.
    "STRANGLER_USER_MODEL": None,
    # Which identity field finds the app's user in it: "username", "email" or "id".
    "STRANGLER_USER_LOOKUP": "username",
    # The model attribute matched with it (None: the same name as the lookup).
    "STRANGLER_USER_COLUMN": None,
    # Django's login page ("/accounts/login/"): where a user who must log in is sent,
    # with ?next= and no "Please log in" flash left behind in Flask's session.
    "STRANGLER_LOGIN_URL": None,
}

# Flask-Login's session keys for a login (flask_login.config.SESSION_KEYS, less
# its own bookkeeping of "remember" and "next").
FLASK_LOGIN_USER_KEY = "_user_id"
FLASK_LOGIN_SESSION_KEYS = (FLASK_LOGIN_USER_KEY, "_fresh", "_id", "_remember_seconds")

UserLoader = Callable[[Identity], Any]
_P = ParamSpec("_P")
_R = TypeVar("_R")


class _State:
    """What ``DjangoIdentity`` keeps per app, in ``app.extensions["strangler"]``."""

    def __init__(self, extension: DjangoIdentity) -> None:
        self.extension = extension
        self.verifier: TokenVerifier | None = None
        # Set once the "no usable key" line has been logged, so it is logged once.
        self.key_problem_logged = False
        # Set once Flask-Login has been pointed at STRANGLER_LOGIN_URL (or found
        # with its own unauthorized handler).
        self.login_redirect_installed = False


class DjangoIdentity:
    """Verify Django's identity token on each request and expose who the user is.

    ``DjangoIdentity(app)``, or ``identity = DjangoIdentity()`` then
    ``identity.init_app(app)`` in an app factory. After that, views read
    ``current_identity`` and use ``login_required`` / ``roles_required``;
    where the app uses Flask-Login, ``current_user`` is the app's own user
    for the identity (see ``user_loader``).

    A token that is missing, expired, tampered with or minted for another
    request makes the request anonymous (the reason is logged, never the
    token); with ``STRANGLER_STRICT`` a request without a valid token is
    refused with 403.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self._user_loader: UserLoader | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register with ``app``: config defaults, and a first ``before_request`` hook.

        Raises ``KeyConfigError`` when the configured keys or leeway cannot be
        used, or when ``STRANGLER_STRICT`` is on without a verifying key (no
        request could ever get in). Without a key and not strict, requests are
        anonymous and one line is logged: a development setup and the app's
        own tests keep working.
        """
        for key, value in CONFIG_DEFAULTS.items():
            app.config.setdefault(key, copy.deepcopy(value))
        state = _State(self)
        check_user_config(app.config)
        if app.config["STRANGLER_VERIFYING_KEYS"]:
            state.verifier = build_verifier(app.config)
        elif app.config["STRANGLER_STRICT"]:
            raise KeyConfigError(
                "STRANGLER_STRICT is on but STRANGLER_VERIFYING_KEYS is empty, so every "
                "request would be refused: set it to the Flask settings `manage.py "
                "strangler_keys` prints (or leave STRANGLER_STRICT off in development)"
            )
        app.extensions[EXTENSION_KEY] = state
        # First, so the app's own before_request hooks already see the user.
        hooks = app.before_request_funcs.setdefault(None, [])
        if _authenticate not in hooks:
            hooks.insert(0, _authenticate)

    def user_loader(self, callback: UserLoader) -> UserLoader:
        """Decorator: map an authenticated ``Identity`` to the app's own user object.

        The result becomes Flask-Login's ``current_user`` (return None for
        "no such user here": Flask-Login then sees an anonymous user). Without
        a loader, Flask-Login's own ``user_loader`` is called with the
        identity's id, which is right when both sides share the users table.
        """
        self._user_loader = callback
        return callback

    def load_user(self, identity: Identity) -> Any:
        """The app's user for ``identity``.

        In order: the ``user_loader`` hook; ``STRANGLER_USER_MODEL`` matched by
        ``STRANGLER_USER_LOOKUP`` (a separate users table); Flask-Login's own
        loader with Django's user id (a shared users table).
        """
        if self._user_loader is not None:
            return self._user_loader(identity)
        if current_app.config.get("STRANGLER_USER_MODEL") is not None:
            return load_user_by_lookup(identity, current_app.config, current_app.extensions)
        manager = getattr(current_app, "login_manager", None)
        callback = getattr(manager, "_user_callback", None)
        if callback is not None:
            return callback(identity.id)
        return None


def build_verifier(config: dict[str, Any]) -> TokenVerifier:
    """A ``TokenVerifier`` from the ``STRANGLER_*`` config; raises ``KeyConfigError``."""
    configured = config["STRANGLER_VERIFYING_KEYS"]
    algorithms = config["STRANGLER_ALGORITHMS"]
    allow_secret = isinstance(algorithms, list | tuple) and "HS256" in algorithms
    keys: list[VerifyingKey]
    if isinstance(configured, dict):
        keys = [
            load_verifying_key(key, kid=str(kid), allow_secret=allow_secret)
            for kid, key in configured.items()
        ]
    elif isinstance(configured, list | tuple):
        keys = [load_verifying_key(key, allow_secret=allow_secret) for key in configured]
    else:
        raise KeyConfigError("STRANGLER_VERIFYING_KEYS must be a dict {kid: key} or a list of keys")
    leeway = config["STRANGLER_LEEWAY"]
    if (
        isinstance(leeway, bool)
        or not isinstance(leeway, int | float)
        or not 0 <= leeway <= MAX_LEEWAY
    ):
        raise KeyConfigError(
            f"STRANGLER_LEEWAY must be 0-{MAX_LEEWAY} seconds, not {leeway!r} "
            f"(synchronise the clocks rather than widen the window)"
        )
    issuer, audience = config["STRANGLER_ISSUER"], config["STRANGLER_AUDIENCE"]
    if not issuer or not audience:
        raise KeyConfigError("STRANGLER_ISSUER and STRANGLER_AUDIENCE must not be empty")
    return TokenVerifier(
        keys,
        algorithms=config["STRANGLER_ALGORITHMS"],
        issuer=issuer,
        audience=audience,
        leeway=leeway,
        max_size=config["STRANGLER_MAX_TOKEN_SIZE"],
    )


def _state(app: Flask | None = None) -> _State:
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if not isinstance(state, _State):
        raise RuntimeError("DjangoIdentity is not initialised on this app (call init_app)")
    return state


@functools.lru_cache(maxsize=16)
def _environ_key(header: str) -> str:
    # Where a WSGI server puts the header (PEP 3333); read straight from the
    # environ, as request.headers would after building its view of it.
    name = header.upper().replace("-", "_")
    return name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + name


def _token_from_request(environ: dict[str, Any], header: str) -> str | None:
    value = environ.get(_environ_key(header))
    if not isinstance(value, str) or not value:
        return None
    if header.lower() == "authorization":
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None
    return value


def _request_binding(environ: dict[str, Any]) -> str:
    # ProxyFix rewrites SCRIPT_NAME from X-Forwarded-Prefix; the token is bound
    # to the target this server received, before that rewrite.
    original = environ.get("werkzeug.proxy_fix.orig")
    script_name = environ.get("SCRIPT_NAME", "")
    if isinstance(original, dict) and isinstance(original.get("SCRIPT_NAME"), str):
        script_name = original["SCRIPT_NAME"]
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    return _binding_of(
        script_name,
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        raw_uri if isinstance(raw_uri, str) else None,
    )


# The binding is a pure function of these strings, and a site's requests
# repeat targets: computing it (percent-encoding the path) is most of what
# verifying a recognised token would otherwise cost.
_binding_of = functools.lru_cache(maxsize=4096)(environ_binding)


def _authenticate() -> ResponseReturnValue | None:
    # Runs on every request: the app and the environ are looked up once
    # (each context-local lookup costs about a microsecond).
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    environ = request.environ
    state = _state(app)
    config = app.config
    verifier = _verifier(state, config)
    _install_login_redirect(state, app)
    g.strangler_identity = ANONYMOUS
    token = _token_from_request(environ, config["STRANGLER_IDENTITY_HEADER"])
    identity: Identity | None = None
    if token is not None and verifier is not None:
        try:
            method = environ.get("REQUEST_METHOD", "GET")
            claims = verifier.verify(token, method=method, binding=_request_binding(environ))
        except InvalidToken as refused:
            logger.warning(
                "identity token refused for %s %s: %s", request.method, request.path, refused.reason
            )
        else:
            identity = Identity.from_claims(claims)
            g.strangler_identity = identity
    if identity is None and config["STRANGLER_STRICT"]:
        return Response("This service is only reachable through Django.\n", 403)
    if token is not None:
        _feed_flask_login(state, identity or ANONYMOUS)
    return None


def _verifier(state: _State, config: Any) -> TokenVerifier | None:
    # init_app built it when keys were configured; otherwise they may have
    # been set since (config after init_app). Without usable keys nobody is
    # let in: requests are anonymous (403 in strict mode), never a 500.
    if state.verifier is None:
        try:
            state.verifier = build_verifier(config)
        except KeyConfigError as exc:
            if not state.key_problem_logged:
                state.key_problem_logged = True
                logger.warning(
                    "identity tokens cannot be verified, every request is anonymous: %s", exc
                )
    return state.verifier


def _feed_flask_login(state: _State, identity: Identity) -> None:
    # Where the app uses Flask-Login, a request that came with a token is the
    # token's user (or anonymous) whatever Flask's own session cookie says:
    # Django owns login. Flask-Login reads the request's user from
    # g._login_user, which is where its own loaders put it.
    manager = getattr(current_app, "login_manager", None)
    if manager is None:
        return
    user = state.extension.load_user(identity) if identity.is_authenticated else None
    g._login_user = user if user is not None else manager.anonymous_user()
    _forget_other_flask_login(user)


def _forget_other_flask_login(user: Any) -> None:
    # A Flask-Login session naming anyone but the token's user is a login
    # Django has ended (a logout, another user, the cut-over done). Flask
    # re-signs its session whenever a view touches it (a flashed message is
    # enough), and would otherwise hand that old login back to the browser,
    # fresh, on every forwarded page. So its keys go, as logout_user() would
    # remove them; the rest of the session (flashes, carts) stays.
    held = session.get(FLASK_LOGIN_USER_KEY)
    if held is None:
        return
    get_id = getattr(user, "get_id", None)
    if get_id is not None and str(get_id()) == str(held):
        return  # the same user: a cut-over user's cookie before their first Django page
    for key in FLASK_LOGIN_SESSION_KEYS:
        if key in session:
            del session[key]
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if remember_cookie in request.cookies:
        session["_remember"] = "clear"  # Flask-Login deletes its remember-me cookie


def _current_identity() -> Identity:
    identity = g.get("strangler_identity")
    return identity if isinstance(identity, Identity) else ANONYMOUS


#: Who the current request is for (``ANONYMOUS`` when nobody is logged in).
current_identity: Identity = cast(Identity, LocalProxy(_current_identity))


def redirect_to_django_login() -> WerkzeugResponse:
    """A redirect to ``STRANGLER_LOGIN_URL`` with ``next`` set to this page, as the client sees it.

    Nothing is flashed: the message would wait in Flask's session and appear
    on the first Flask page after the user logged in on Django.
    """
    url: str = current_app.config["STRANGLER_LOGIN_URL"]
    next_url = request.script_root + request.path
    if request.query_string:
        next_url += "?" + request.query_string.decode("latin-1")
    separator = "&" if "?" in url else "?"
    return redirect(f"{url}{separator}{urlencode({'next': next_url})}")


def _install_login_redirect(state: _State, app: Flask) -> None:
    # Flask-Login's own @login_required calls login_manager.unauthorized(),
    # which flashes login_message and redirects to login_view; with Django
    # owning login it should send the user to Django's page instead.
    if state.login_redirect_installed or not app.config.get("STRANGLER_LOGIN_URL"):
        return
    manager = getattr(app, "login_manager", None)
    if manager is not None and manager.unauthorized_callback is None:
        manager.unauthorized_callback = redirect_to_django_login
    state.login_redirect_installed = True


def _unauthenticated() -> Any:
    # The app decides what "not logged in" looks like: Django's login page
    # (STRANGLER_LOGIN_URL), Flask-Login's unauthorized() (a redirect to its
    # login_view, or its own handler), else a plain 401.
    if current_app.config.get("STRANGLER_LOGIN_URL"):
        return redirect_to_django_login()
    manager = getattr(current_app, "login_manager", None)
    if manager is not None:
        return manager.unauthorized()
    abort(401)


def login_required(view: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorator: the view needs a user logged in on Django (else 401 or the app's redirect)."""

    @wraps(view)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not _current_identity().is_authenticated:
            return cast(_R, _unauthenticated())
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorator: the view needs a logged-in user holding every one of ``roles`` (else 403)."""

    def decorator(view: Callable[_P, _R]) -> Callable[_P, _R]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            identity = _current_identity()
            if not identity.is_authenticated:
                return cast(_R, _unauthenticated())
            if not identity.has_roles(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
