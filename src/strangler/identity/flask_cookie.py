"""Reading Flask's session cookie exactly as Flask does, for the cut-over.

Kept apart from ``cutover`` (which needs ``django.contrib.auth``) so that the
system checks can validate the same settings with the same code.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

logger = logging.getLogger("strangler.identity")

# Where Flask-Login keeps the logged-in user's id in Flask's session.
FLASK_LOGIN_USER_KEY = "_user_id"
# Flask's SecureCookieSessionInterface: salt, and HMAC key derivation with SHA-1.
FLASK_SESSION_SALT = "cookie-session"

UserMapper = Callable[[str], Any]


def parse_until(value: object) -> datetime.datetime | None:
    """``FLASK_SESSION["UNTIL"]`` as an aware datetime; raises ValueError when unusable."""
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime.datetime) or timezone.is_naive(moment):
        raise ValueError(f"{value!r} is not a date and time with a time zone")
    return moment


class FlaskCookieReader:
    """Reads Flask session cookies with Flask's own signing scheme (itsdangerous)."""

    def __init__(self, conf: dict[str, Any], *, mapper: UserMapper) -> None:
        from itsdangerous import URLSafeTimedSerializer

        secret = conf["SECRET_KEY"]
        # Flask 3.1 signs with SECRET_KEY and accepts SECRET_KEY_FALLBACKS;
        # itsdangerous takes a list, newest last.
        secrets = list(secret) if isinstance(secret, list | tuple) else [secret]
        self.max_age = int(conf["MAX_AGE"])
        self.until = parse_until(conf["UNTIL"])
        self.serializer = URLSafeTimedSerializer(
            secrets,
            salt=FLASK_SESSION_SALT,
            # Flask's tagged JSON is JSON; the user id is a plain string in it.
            serializer=json,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
        )
        # Flask's user id -> the Django user (FLASK_SESSION["USER"], or by pk).
        self.mapper = mapper

    def user_id(self, cookie: str) -> str | None:
        """The Flask-Login user id in ``cookie``, or None (no login, expired, bad signature)."""
        from itsdangerous import BadData

        if self.until is not None and timezone.now() >= self.until:
            return None  # the cut-over window is over: Flask cookies mean nothing
        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except BadData as exc:
            logger.info("Flask session cookie ignored: %s", type(exc).__name__)
            return None
        except ValueError:  # not JSON after a valid signature: not a Flask session
            return None
        user_id = data.get(FLASK_LOGIN_USER_KEY) if isinstance(data, dict) else None
        return user_id if isinstance(user_id, str) and user_id else None
