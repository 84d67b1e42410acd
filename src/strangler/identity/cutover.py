"""Cut-over: the day Django takes over login, nobody is logged out.

Users still hold Flask's session cookie (Flask-Login keeps the user id in
Flask's signed session). With ``STRANGLER["IDENTITY"]["FLASK_SESSION"]`` set:

* ``FlaskSessionMiddleware`` (after Django's ``AuthenticationMiddleware``)
  sees a request with no Django user but a Flask cookie carrying a login,
  verifies the cookie exactly as Flask does (itsdangerous, Flask's secret
  key, salt and HMAC-SHA1 key derivation, and its maximum age), maps the
  Flask user id to a Django user and logs that user into Django. The Flask
  cookie is then deleted.
* The login itself is remembered, not the cookie: Flask re-signs its session
  (a new cookie string, the same ``_user_id``) whenever it touches it, so a
  memory of cookie strings is fooled by any page that flashes a message.
  Instead, once a user's Flask login has been converted, or that user has
  logged into or out of Django in any way, the user is recorded
  (``FlaskLoginEnd``, a database row a cache cannot evict) and no Flask
  cookie naming them is accepted again, whatever Flask re-signs. The Flask
  side helps: ``DjangoIdentity`` drops Flask-Login's keys from a session
  that came with a token for somebody else (or nobody), so Flask stops
  re-issuing the old login at all.
* ``UNTIL`` ends the whole window: after it, no Flask cookie is read.
* ``FlaskSessionBackend`` is the authentication backend doing the
  verification and mapping (``AUTHENTICATION_BACKENDS``), so the session
  Django writes names it like any other login.
* A forwarded request from such a user (before they reach a Django page) is
  minted a token for the mapped user, without a Django session being
  created: a forwarded answer is Flask's alone, so Django adds no cookie.

Expired, tampered, foreign and ended cookies are ignored (anonymous), never an
error. Switch it off once Flask's session lifetime has passed since the
cut-over (docs/identity.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model, login, user_logged_in, user_logged_out
from django.contrib.auth.backends import ModelBackend
from django.db import DatabaseError, IntegrityError, transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from ..conf import FLASK_SESSION_DEFAULTS, conf_cache, get_conf
from .flask_cookie import FlaskCookieReader
from .models import FlaskLoginEnd

logger = logging.getLogger("strangler.identity")

BACKEND_PATH = "strangler.identity.cutover.FlaskSessionBackend"
MIDDLEWARE_PATH = "strangler.identity.cutover.FlaskSessionMiddleware"


def flask_session_conf() -> dict[str, Any] | None:
    """``FLASK_SESSION`` merged over its defaults, or None when the cut-over is off."""
    value = get_conf()["IDENTITY"].get("FLASK_SESSION")
    if not isinstance(value, dict):
        return None
    return {**FLASK_SESSION_DEFAULTS, **value}


@conf_cache
def cookie_reader() -> FlaskCookieReader | None:
    """The reader for the configured Flask cookie (None when the cut-over is off)."""
    conf = flask_session_conf()
    if conf is None or not conf["SECRET_KEY"]:
        return None
    mapper = conf["USER"]
    return FlaskCookieReader(conf, mapper=import_string(mapper) if mapper else user_by_pk)


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


def flask_login_ended(user: Any) -> bool:
    """Whether ``user``'s Flask login is over (converted, or a Django login or logout since)."""
    return FlaskLoginEnd.objects.filter(user_key=str(user.pk)).exists()


def end_flask_login(user: Any) -> bool:
    """Record that ``user``'s Flask cookies are never accepted again; True if this call did.

    The unique row makes it atomic: of two requests racing with copies of
    one cookie, exactly one converts it.
    """
    try:
        with transaction.atomic():
            _, created = FlaskLoginEnd.objects.get_or_create(user_key=str(user.pk))
    except IntegrityError:  # the other racer's insert won
        return False
    return created


class FlaskSessionBackend(ModelBackend):
    """Authenticates a request by its Flask-Login session cookie (``flask_session=``).

    Only the cut-over uses it; ``get_user`` and permissions are ModelBackend's,
    so a user logged in this way is an ordinary Django login afterwards.
    With ``consume`` (the default) the user's Flask login is ended by this
    call (``end_flask_login``); a user whose Flask login already ended is
    refused either way.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        flask_session: str | None = None,
        consume: bool = True,
        **kwargs: Any,
    ) -> Any:
        """The active Django user for a valid Flask cookie whose login has not ended, else None."""
        reader = cookie_reader()
        if flask_session is None or reader is None:
            return None
        flask_user_id = reader.user_id(flask_session)
        if flask_user_id is None:
            return None
        user = reader.mapper(flask_user_id)
        if user is None or not self.user_can_authenticate(user):
            return None
        if not (end_flask_login(user) if consume else not flask_login_ended(user)):
            logger.info("Flask session cookie ignored: the user's Flask login has ended")
            return None
        return user


def user_from_flask_cookie(request: HttpRequest) -> Any:
    """The Django user a request's Flask session cookie stands for, or None.

    For forwarded requests: the login is not ended here (no Django session
    is created for it), so the user's first Django page still converts it.
    """
    cookie = flask_login_cookie(request)
    if cookie is None:
        return None
    try:
        return FlaskSessionBackend().authenticate(request, flask_session=cookie, consume=False)
    except DatabaseError as exc:
        # Fail closed, like a session that cannot be read (issuer.load_user).
        logger.error("Flask session cookie not checked, sent as anonymous: %s", exc)
        return None


@receiver(user_logged_in)
@receiver(user_logged_out)
def end_flask_login_on_django_login(sender: Any, user: Any = None, **kwargs: Any) -> None:
    """Once a user has logged into or out of Django, their old Flask cookies are dead."""
    if user is not None and getattr(user, "pk", None) is not None and cookie_reader():
        end_flask_login(user)


class FlaskSessionMiddleware:
    """Log a Flask-only user into Django once, then forget Flask's cookie.

    Goes after ``django.contrib.auth.middleware.AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        conf = flask_session_conf()
        cookie = flask_login_cookie(request)
        reader = cookie_reader()
        flask_user_id = reader.user_id(cookie) if reader and cookie else None
        if flask_user_id is not None and reader is not None:
            if not request.user.is_authenticated:
                user = FlaskSessionBackend().authenticate(request, flask_session=cookie)
                if user is not None:
                    login(request, user, backend=BACKEND_PATH)
            else:
                # Superseded by a Django login: the cookie's own user (who may
                # be someone else on a shared browser) can no longer use it.
                superseded = reader.mapper(flask_user_id)
                if superseded is not None:
                    end_flask_login(superseded)
        response = self.get_response(request)
        if conf is not None and flask_user_id is not None:
            # Used (or superseded by a Django login): the browser forgets it too.
            response.delete_cookie(
                conf["COOKIE_NAME"], path=conf["COOKIE_PATH"], domain=conf["COOKIE_DOMAIN"]
            )
        return response
