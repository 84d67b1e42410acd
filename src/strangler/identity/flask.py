"""The Flask side of one login: verify Django's identity token on every request.

Imported as ``strangler.flask``; see that module for the public names. This
module must never import Django (the uni-directional rule): an import-linter
contract in ``pyproject.toml`` keeps it true.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.local import LocalProxy

from .tokens import (
    ANONYMOUS,
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
    # Seconds of clock difference tolerated between Django and Flask.
    "STRANGLER_LEEWAY": 5,
    # Refuse (403) every request without a valid token: only Django may call Flask.
    "STRANGLER_STRICT": False,
    # Tokens longer than this are refused without being parsed.
    "STRANGLER_MAX_TOKEN_SIZE": MAX_TOKEN_SIZE,
}

UserLoader = Callable[[Identity], Any]
_P = ParamSpec("_P")
_R = TypeVar("_R")


class _State:
    """What ``DjangoIdentity`` keeps per app, in ``app.extensions["strangler"]``."""

    def __init__(self, extension: DjangoIdentity) -> None:
        self.extension = extension
        self.verifier: TokenVerifier | None = None


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
        """Register with ``app``: config defaults, and a first ``before_request`` hook."""
        for key, value in CONFIG_DEFAULTS.items():
            app.config.setdefault(key, copy.deepcopy(value))
        app.extensions[EXTENSION_KEY] = _State(self)
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
        """The app's user for ``identity``, through the loader hook or Flask-Login's."""
        if self._user_loader is not None:
            return self._user_loader(identity)
        manager = getattr(current_app, "login_manager", None)
        callback = getattr(manager, "_user_callback", None)
        if callback is not None:
            return callback(identity.id)
        return None


def build_verifier(config: dict[str, Any]) -> TokenVerifier:
    """A ``TokenVerifier`` from the ``STRANGLER_*`` config; raises ``KeyConfigError``."""
    configured = config["STRANGLER_VERIFYING_KEYS"]
    keys: list[VerifyingKey]
    if isinstance(configured, dict):
        keys = [load_verifying_key(key, kid=str(kid)) for kid, key in configured.items()]
    elif isinstance(configured, list | tuple):
        keys = [load_verifying_key(key) for key in configured]
    else:
        raise KeyConfigError("STRANGLER_VERIFYING_KEYS must be a dict {kid: key} or a list of keys")
    leeway = config["STRANGLER_LEEWAY"]
    if isinstance(leeway, bool) or not isinstance(leeway, int | float) or not 0 <= leeway <= 60:
        raise KeyConfigError(f"STRANGLER_LEEWAY must be 0-60 seconds, not {leeway!r}")
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


def _state() -> _State:
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, _State):
        raise RuntimeError("DjangoIdentity is not initialised on this app (call init_app)")
    return state


def _token_from_request(header: str) -> str | None:
    value = request.headers.get(header)
    if not value:
        return None
    if header.lower() == "authorization":
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None
    return value


def _request_binding() -> str:
    environ = request.environ
    # ProxyFix rewrites SCRIPT_NAME from X-Forwarded-Prefix; the token is bound
    # to the target this server received, before that rewrite.
    original = environ.get("werkzeug.proxy_fix.orig")
    script_name = environ.get("SCRIPT_NAME", "")
    if isinstance(original, dict) and isinstance(original.get("SCRIPT_NAME"), str):
        script_name = original["SCRIPT_NAME"]
    return environ_binding(
        script_name, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
    )


def _authenticate() -> ResponseReturnValue | None:
    state = _state()
    config = current_app.config
    if state.verifier is None:
        # Built on first use so config set after init_app counts; a bad key
        # fails every request loudly rather than letting anyone through.
        state.verifier = build_verifier(config)
    g.strangler_identity = ANONYMOUS
    token = _token_from_request(config["STRANGLER_IDENTITY_HEADER"])
    identity: Identity | None = None
    if token is not None:
        try:
            claims = state.verifier.verify(token, method=request.method, binding=_request_binding())
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


def _current_identity() -> Identity:
    identity = g.get("strangler_identity")
    return identity if isinstance(identity, Identity) else ANONYMOUS


#: Who the current request is for (``ANONYMOUS`` when nobody is logged in).
current_identity: Identity = cast(Identity, LocalProxy(_current_identity))


def _unauthenticated() -> Any:
    # The app decides what "not logged in" looks like: Flask-Login's
    # unauthorized() (a redirect to its login_view, or its own handler),
    # else a plain 401.
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
