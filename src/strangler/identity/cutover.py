"""Cut-over: the day Django takes over login, nobody is logged out.

Users still hold Flask's session cookie (Flask-Login keeps the user id in
Flask's signed session). With ``STRANGLER["IDENTITY"]["FLASK_SESSION"]`` set:

* ``FlaskSessionMiddleware`` (after Django's ``AuthenticationMiddleware``)
  sees a request with no Django user but a Flask cookie carrying a login,
  verifies the cookie exactly as Flask does (itsdangerous, Flask's secret
  key, salt and HMAC-SHA1 key derivation, and its maximum age), maps the
  Flask user id to a Django user and logs that user into Django. The Flask
  cookie is then deleted, and remembered (hashed) in Django's cache so that
  a copy of it is refused too: each cookie is accepted once, from then on
  only Django's session counts, and logging out of Django is final.
* ``FlaskSessionBackend`` is the authentication backend doing the
  verification and mapping (``AUTHENTICATION_BACKENDS``), so the session
  Django writes names it like any other login.
* A forwarded request from such a user (before they reach a Django page) is
  minted a token for the mapped user, without a Django session being
  created: a forwarded answer is Flask's alone, so Django adds no cookie.

Expired, tampered and foreign cookies are ignored (anonymous), never an
error. Switch it off once Flask's session lifetime has passed since the
cut-over (docs/identity.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model, login
from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from ..conf import FLASK_SESSION_DEFAULTS, conf_cache, get_conf

logger = logging.getLogger("strangler.identity")

BACKEND_PATH = "strangler.identity.cutover.FlaskSessionBackend"
MIDDLEWARE_PATH = "strangler.identity.cutover.FlaskSessionMiddleware"
# Where Flask-Login keeps the logged-in user's id in Flask's session.
FLASK_LOGIN_USER_KEY = "_user_id"
# Flask's SecureCookieSessionInterface: salt, and HMAC key derivation with SHA-1.
FLASK_SESSION_SALT = "cookie-session"

UserMapper = Callable[[str], Any]


def flask_session_conf() -> dict[str, Any] | None:
    """``FLASK_SESSION`` merged over its defaults, or None when the cut-over is off."""
    value = get_conf()["IDENTITY"].get("FLASK_SESSION")
    if not isinstance(value, dict):
        return None
    return {**FLASK_SESSION_DEFAULTS, **value}


class _FlaskCookieReader:
    """Reads Flask session cookies with Flask's own signing scheme (itsdangerous)."""

    def __init__(self, conf: dict[str, Any]) -> None:
        from itsdangerous import URLSafeTimedSerializer

        secret = conf["SECRET_KEY"]
        # Flask 3.1 signs with SECRET_KEY and accepts SECRET_KEY_FALLBACKS;
        # itsdangerous takes a list, newest last.
        secrets = list(secret) if isinstance(secret, list | tuple) else [secret]
        self.max_age = int(conf["MAX_AGE"])
        self.serializer = URLSafeTimedSerializer(
            secrets,
            salt=FLASK_SESSION_SALT,
            # Flask's tagged JSON is JSON; the user id is a plain string in it.
            serializer=json,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
        )
        mapper = conf["USER"]
        self.mapper: UserMapper = import_string(mapper) if mapper else user_by_pk

    def user_id(self, cookie: str) -> str | None:
        """The Flask-Login user id in ``cookie``, or None (no login, expired, bad signature)."""
        from itsdangerous import BadData

        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except BadData as exc:
            logger.info("Flask session cookie ignored: %s", type(exc).__name__)
            return None
        except ValueError:  # not JSON after a valid signature: not a Flask session
            return None
        user_id = data.get(FLASK_LOGIN_USER_KEY) if isinstance(data, dict) else None
        return user_id if isinstance(user_id, str) and user_id else None


@conf_cache
def cookie_reader() -> _FlaskCookieReader | None:
    """The reader for the configured Flask cookie (None when the cut-over is off)."""
    conf = flask_session_conf()
    if conf is None or not conf["SECRET_KEY"]:
        return None
    return _FlaskCookieReader(conf)


def user_by_pk(flask_user_id: str) -> Any:
    """The default mapping: the Django user whose primary key is Flask's user id."""
    model = get_user_model()
    try:
        return model._default_manager.get(pk=flask_user_id)
    except (model.DoesNotExist, ValueError, TypeError):
        return None


def flask_login_cookie(request: HttpRequest) -> str | None:
    """The raw Flask session cookie of ``request`` when the cut-over is on."""
    conf = flask_session_conf()
    if conf is None:
        return None
    value = request.COOKIES.get(conf["COOKIE_NAME"])
    return value or None


def _used_key(cookie: str) -> str:
    return "strangler:flask-session-used:" + hashlib.sha256(cookie.encode()).hexdigest()


def _cache() -> Any:
    conf = flask_session_conf() or FLASK_SESSION_DEFAULTS
    return caches[conf["CACHE"]]


class FlaskSessionBackend(ModelBackend):
    """Authenticates a request by its Flask-Login session cookie (``flask_session=``).

    Only the cut-over uses it; ``get_user`` and permissions are ModelBackend's,
    so a user logged in this way is an ordinary Django login afterwards.
    With ``consume`` (the default) the cookie is remembered in the cache and
    never accepted again; a cookie already used is refused either way.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        flask_session: str | None = None,
        consume: bool = True,
        **kwargs: Any,
    ) -> Any:
        """The active Django user for a valid, unused Flask session cookie, else None."""
        reader = cookie_reader()
        if flask_session is None or reader is None:
            return None
        flask_user_id = reader.user_id(flask_session)
        if flask_user_id is None:
            return None
        user = reader.mapper(flask_user_id)
        if user is None or not self.user_can_authenticate(user):
            return None
        used = _used_key(flask_session)
        if consume:
            if not _cache().add(used, True, timeout=reader.max_age):
                logger.info("Flask session cookie ignored: already used for a Django login")
                return None
        elif _cache().get(used):
            return None
        return user


def user_from_flask_cookie(request: HttpRequest) -> Any:
    """The Django user a request's unused Flask session cookie stands for, or None.

    For forwarded requests: the cookie is not consumed (no Django session is
    created for it), so the user's first Django page still converts it.
    """
    cookie = flask_login_cookie(request)
    if cookie is None:
        return None
    return FlaskSessionBackend().authenticate(request, flask_session=cookie, consume=False)


class FlaskSessionMiddleware:
    """Log a Flask-only user into Django once, then forget Flask's cookie.

    Goes after ``django.contrib.auth.middleware.AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        conf = flask_session_conf()
        cookie = flask_login_cookie(request)
        carries_login = False
        if conf is not None and cookie is not None:
            reader = cookie_reader()
            carries_login = reader is not None and reader.user_id(cookie) is not None
            if carries_login and not request.user.is_authenticated:
                user = FlaskSessionBackend().authenticate(request, flask_session=cookie)
                if user is not None:
                    login(request, user, backend=BACKEND_PATH)
        response = self.get_response(request)
        if conf is not None and carries_login:
            # Used (or superseded by a Django login): never accepted again.
            response.delete_cookie(
                conf["COOKIE_NAME"], path=conf["COOKIE_PATH"], domain=conf["COOKIE_DOMAIN"]
            )
        return response
