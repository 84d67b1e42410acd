"""The Django side of one login: mint the identity token for a forwarded request.

The forwarding core builds the one upstream request and asks the signer
registered with it (:class:`IdentitySigner`, registered by the ``strangler``
app) for the token over exactly that request: its method and the target as
sent. Identity never rebuilds the path, and never looks at how forwarding
frames or sends the request.

``StranglerMiddleware`` is outermost, so no session or auth middleware has
run when a request is forwarded: ``identity_headers`` loads the user itself
(session cookie → session → user, as ``django.contrib.auth.get_user`` does)
and only when a token is wanted. A request that cannot carry a login
(:func:`may_carry_login`: no session cookie, no cut-over Flask cookie) runs
no Django code at all and gets the process's one anonymous token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import Any, Protocol

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest

from ..conf import conf_cache, get_conf
from .claims import ANONYMOUS_CLAIMS, build_claims, claims_hook
from .tokens import KeyConfigError, TokenSigner, load_signing_key

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


# Tokens kept for reuse per process; cleared when full.
REUSED_TOKENS = 4096


class ReusedTokens:
    """The process's anonymous token, and one user token per (claims, method, target).

    Minting is an Ed25519 signature per request, and Flask's verification
    another. An anonymous token grants nothing, so there is one per process,
    valid for any request (:meth:`TokenSigner.mint_anonymous`). A user's
    token for the page they reload says exactly what the previous one said,
    so it is reused while the same claims are sent for the same method and
    target. Either is renewed once half its lifetime is gone (Flask always
    receives at least that much validity, whatever the clock skew within its
    leeway). Anything that changes the claims (a logout, another user, a
    role change, a hook's claim) makes a new token; a request for another
    target makes a new token. Reuse opens no window a fresh token does not:
    a token is already valid for its whole lifetime against its own method
    and target.
    """

    def __init__(self, signer: TokenSigner, *, clock: Callable[[], float] = time.time) -> None:
        self.signer = signer
        self.reuse_for = signer.lifetime / 2
        self.clock = clock
        self._tokens: dict[tuple[str, str, str], tuple[float, str]] = {}
        self._anonymous: tuple[float, str] = (0.0, "")

    def anonymous(self) -> str:
        """The anonymous token (``anonymous: true``, any request): reused or new."""
        now = self.clock()
        renew_at, token = self._anonymous
        if renew_at > now:
            return token
        issued = int(now)
        token = self.signer.mint_anonymous(now=issued)
        self._anonymous = (issued + self.reuse_for, token)
        return token

    def token(self, claims: dict[str, Any], *, method: str, target: str) -> str:
        """The token for ``claims``: the anonymous one, or one bound to this method and target."""
        if claims == ANONYMOUS_CLAIMS:
            return self.anonymous()
        key = (method, target, json.dumps(claims, sort_keys=True, default=str))
        now = self.clock()
        known = self._tokens.get(key)
        if known is not None and known[0] > now:
            return known[1]
        issued = int(now)
        token = self.signer.mint(claims, method=method, target=target, now=issued)
        if len(self._tokens) >= REUSED_TOKENS:
            self._tokens.clear()
        self._tokens[key] = (issued + self.reuse_for, token)
        return token


@conf_cache
def reused_tokens() -> ReusedTokens | None:
    """The per-process token reuse for the configured signer (None when identity is off)."""
    signer = get_signer()
    return ReusedTokens(signer) if signer is not None else None


def _session_store(session_key: str) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key)


def may_carry_login(request: HttpRequest) -> bool:
    """Can ``request`` be anyone but anonymous? (The one home of that fact.)

    Only what :func:`load_user` reads can make a request a user's:
    ``request.user`` set by something earlier, Django's session cookie, or,
    with the cut-over on, Flask's session cookie. Without any of them the
    request is anonymous without a query, a session, or Django's request
    signals. A cookie that turns out stale only costs the reads.
    """
    if getattr(request, "user", None) is not None:
        return True
    if request.COOKIES.get(settings.SESSION_COOKIE_NAME):
        return True
    if get_conf()["IDENTITY"].get("FLASK_SESSION"):
        from .cutover import flask_login_cookie

        return flask_login_cookie(request) is not None
    return False


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

    if not may_carry_login(request):
        return AnonymousUser()
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


def identity_headers(request: HttpRequest, *, target: str) -> Headers:
    """The header carrying ``request``'s identity token to Flask (empty when identity is off).

    ``target`` is the request target sent upstream (base path and query
    included), which the token is bound to. Every forwarded request gets
    one: the user's, or an anonymous one, so Flask can tell "nobody logged
    in" from "did not come through Django".
    """
    try:
        tokens = reused_tokens()
    except KeyConfigError as exc:
        # Fail closed: without a token Flask sees an anonymous request.
        logger.error("identity token not minted for %s %s: %s", request.method, request.path, exc)
        return []
    if tokens is None:
        return []
    if reads_user(request):
        claims = build_claims(request, load_user(request))
        token = tokens.token(claims, method=(request.method or "GET").upper(), target=target)
    else:
        token = tokens.anonymous()
    header: str = get_conf()["IDENTITY"]["HEADER"]
    if header.lower() == "authorization":
        return [(header, f"Bearer {token}")]
    return [(header, token)]


def reads_user(request: HttpRequest) -> bool:
    """Will the token for ``request`` need Django code (the user, or the project's claims)?

    False means the request is anonymous and gets the anonymous token as it
    is: no session or user read, and no ``CLAIMS`` hook (which may add
    claims to an anonymous request, and may query the database to do so).
    """
    if not apps.is_installed("django.contrib.auth"):
        return False
    return may_carry_login(request) or claims_hook() is not None


class SignableRequest(Protocol):
    """What identity reads of the upstream request: the method and target sent."""

    method: str
    target: str


class IdentitySigner:
    """The forwarding core's signer (``strangler.forwarding.signing``) for identity tokens."""

    def owned_headers(self) -> Sequence[str]:
        """The token header: a client's copy never reaches Flask, token or not."""
        header = get_conf()["IDENTITY"].get("HEADER")
        return (header,) if isinstance(header, str) else ()

    def runs_django_code(self, request: HttpRequest) -> bool:
        """True when ``request``'s token needs its session and user read (see ``reads_user``)."""
        try:
            if get_signer() is None:
                return False
        except KeyConfigError:  # sign() logs it and mints nothing
            return False
        return reads_user(request)

    def sign(self, request: HttpRequest, upstream: SignableRequest) -> Headers:
        """The token header for ``upstream``, the request about to be sent."""
        return identity_headers(request, target=upstream.target)
