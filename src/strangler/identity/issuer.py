"""The Django side of one login: mint the identity token for a forwarded request.

``StranglerMiddleware`` is outermost, so no session or auth middleware has
run when a request is forwarded: ``identity_headers`` loads the user itself
(session cookie → session → user, as ``django.contrib.auth.get_user`` does)
and only when a token is wanted. A request without a session cookie costs
no query at all, just the signature.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any
from urllib.parse import unquote

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest

from ..conf import conf_cache, get_conf
from ..forwarding.upstream import HttpUpstream, UpstreamConfigError, parse_upstream
from .claims import ANONYMOUS_CLAIMS, build_claims
from .tokens import KeyConfigError, TokenSigner, bound_path, load_signing_key

logger = logging.getLogger("strangler.identity")

Headers = list[tuple[str, str]]


@conf_cache
def get_signer() -> TokenSigner | None:
    """The signer for ``STRANGLER["IDENTITY"]``, or None when no key is set.

    Raises ``KeyConfigError`` for a bad key (``manage.py check`` reports it
    first, as strangler.E023).
    """
    identity = get_conf()["IDENTITY"]
    if not identity["SIGNING_KEY"]:
        return None
    key = load_signing_key(identity["ALGORITHM"], identity["SIGNING_KEY"], identity["KEY_ID"])
    return TokenSigner(
        key,
        issuer=identity["ISSUER"],
        audience=identity["AUDIENCE"],
        lifetime=identity["LIFETIME"],
    )


@conf_cache
def upstream_prefix() -> str:
    """The path the HTTP upstream is mounted under, as Flask's server will see it."""
    try:
        upstream = parse_upstream(get_conf()["UPSTREAM"])
    except UpstreamConfigError:
        return ""
    if isinstance(upstream, HttpUpstream):
        return unquote(upstream.base_path, encoding="latin-1")
    return ""


def _session_store(session_key: str) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key)


def load_user(request: HttpRequest) -> Any:
    """The Django user of ``request``, without the session and auth middlewares.

    Uses ``request.user`` when something already set it; otherwise reads the
    session named by the session cookie and lets ``django.contrib.auth``
    resolve (and verify) the user. With the cut-over on, a request with no
    Django login may still be a Flask-only user.
    """
    # Imported here: a project without django.contrib.auth can still forward.
    from django.contrib.auth import get_user
    from django.contrib.auth.models import AnonymousUser

    user = getattr(request, "user", None)
    if user is None:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        user = AnonymousUser()
        if session_key:
            # The session is attached like SessionMiddleware would, so that
            # get_user can verify the session hash (and flush a stale one).
            request.session = _session_store(session_key)
            try:
                user = get_user(request)
            except DatabaseError as exc:
                # Fail closed, and keep Flask's pages that need no login up.
                logger.error(
                    "identity: user of %s %s not loaded, sent as anonymous: %s",
                    request.method,
                    request.path,
                    exc,
                )
                user = AnonymousUser()
    if not user.is_authenticated and get_conf()["IDENTITY"].get("FLASK_SESSION"):
        from .cutover import user_from_flask_cookie

        user = user_from_flask_cookie(request) or user
    return user


def identity_headers(request: HttpRequest) -> Headers:
    """The header carrying ``request``'s identity token to Flask (empty when identity is off).

    Every forwarded request gets one: the user's, or an anonymous one, so
    Flask can tell "nobody logged in" from "did not come through Django".
    """
    try:
        signer = get_signer()
    except KeyConfigError as exc:
        # Fail closed: without a token Flask sees an anonymous request.
        logger.error("identity token not minted for %s %s: %s", request.method, request.path, exc)
        return []
    if signer is None:
        return []
    if apps.is_installed("django.contrib.auth"):
        claims = build_claims(request, load_user(request))
    else:
        claims = dict(ANONYMOUS_CLAIMS)
    path = bound_path(upstream_prefix(), request.META.get("PATH_INFO", ""))
    token = signer.mint(claims, method=request.method or "GET", path=path)
    header: str = get_conf()["IDENTITY"]["HEADER"]
    if header.lower() == "authorization":
        return [(header, f"Bearer {token}")]
    return [(header, token)]
