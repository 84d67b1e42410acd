"""Werkzeug's password hashes in Django: legacy users log in with the password they have.

Flask apps store ``werkzeug.security.generate_password_hash`` output:
``scrypt:32768:8:1$<salt>$<hex>`` (Werkzeug 3's default) or
``pbkdf2:sha256:600000$<salt>$<hex>``. Django stores such a hash as
``werkzeug$<method>$<salt>$<digest>``: the same parts, the digest in base64
rather than hex and Werkzeug's default scrypt parameters left out (as
Werkzeug itself allows), because a scrypt hash in hex (162 characters) does
not fit Django's 128-character password column. ``WerkzeugPasswordHasher``,
listed after Django's own hashers in ``PASSWORD_HASHERS``, verifies it with
Werkzeug's own ``check_password_hash``. Like any hasher that is not the
first, it is never used for new passwords: on the first successful login
Django re-hashes the password with its preferred hasher and saves it, as it
does for its own outdated hashers (``AbstractBaseUser.check_password``).

Werkzeug is imported only when a legacy hash is checked (Django's pattern
for bcrypt and argon2): install ``django-strangler[werkzeug]`` on the Django
side, or have Flask installed there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from typing import Any

from django.contrib.auth.hashers import BasePasswordHasher, mask_hash
from django.utils.translation import gettext_noop as _

logger = logging.getLogger("strangler.identity")

# Cost parameters beyond these are refused unread: a hash in the legacy table
# must not be able to make one login attempt take a gigabyte or minutes
# (scrypt needs 128 * n * r bytes: 128 MiB at the limits). Werkzeug's defaults
# are well below them (scrypt n=2**15 r=8 p=1, pbkdf2 1,000,000 iterations).
MAX_SCRYPT_N = 2**17
MAX_SCRYPT_R = 8
MAX_SCRYPT_P = 4
MAX_PBKDF2_ITERATIONS = 10_000_000
PBKDF2_DIGESTS = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})
DEFAULT_SCRYPT = "scrypt:32768:8:1"


class LegacyHashError(ValueError):
    """A stored Werkzeug hash this hasher will not check (malformed, unknown method, too costly)."""


def split_werkzeug_hash(werkzeug_hash: str) -> tuple[str, list[str], str, str]:
    """``(method, cost parameters, salt, hex digest)`` of a Werkzeug hash.

    Raises ``LegacyHashError`` for anything but a well-formed ``scrypt`` or
    ``pbkdf2`` hash within the cost limits above.
    """
    parts = werkzeug_hash.split("$")
    if len(parts) != 3 or not all(parts):
        raise LegacyHashError("not method$salt$hash")
    method, salt, digest = parts
    name, *params = method.split(":")
    if name == "scrypt":
        if len(params) not in (0, 3) or not all(p.isdigit() for p in params):
            raise LegacyHashError(f"scrypt parameters {params!r} are not n:r:p")
        n, r, p = (int(x) for x in params) if params else (2**15, 8, 1)
        if not (1 < n <= MAX_SCRYPT_N and 0 < r <= MAX_SCRYPT_R and 0 < p <= MAX_SCRYPT_P):
            raise LegacyHashError(f"scrypt cost n={n} r={r} p={p} is out of range")
    elif name == "pbkdf2":
        digest_name = params[0] if params else "sha256"
        iterations = params[1] if len(params) > 1 else "600000"
        if len(params) > 2 or digest_name not in PBKDF2_DIGESTS or not iterations.isdigit():
            raise LegacyHashError(f"pbkdf2 parameters {params!r} are not digest:iterations")
        if not 0 < int(iterations) <= MAX_PBKDF2_ITERATIONS:
            raise LegacyHashError(f"pbkdf2 iterations {iterations} are out of range")
    else:
        raise LegacyHashError(f"method {name!r} is neither scrypt nor pbkdf2")
    return name, params, salt, digest


def to_django_password(werkzeug_hash: str) -> str:
    """``werkzeug_hash`` as Django stores it (``werkzeug$...``); raises ``LegacyHashError``."""
    name, params, salt, digest = split_werkzeug_hash(werkzeug_hash)
    method = ":".join([name, *params])
    if method == DEFAULT_SCRYPT:
        method = "scrypt"  # Werkzeug reads a bare "scrypt" as its defaults
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raise LegacyHashError("the digest is not hexadecimal") from None
    packed = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"{WerkzeugPasswordHasher.algorithm}${method}${salt}${packed}"


def to_werkzeug_hash(encoded: str) -> str:
    """The Werkzeug hash inside Django's ``werkzeug$...``; raises ``LegacyHashError``."""
    algorithm, _, rest = encoded.partition("$")
    parts = rest.split("$")
    if algorithm != WerkzeugPasswordHasher.algorithm or len(parts) != 3 or not all(parts):
        raise LegacyHashError("not werkzeug$method$salt$digest")
    method, salt, packed = parts
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
    except (ValueError, binascii.Error):
        raise LegacyHashError("the digest is not base64") from None
    werkzeug_hash = f"{method}${salt}${raw.hex()}"
    split_werkzeug_hash(werkzeug_hash)  # the method and cost limits
    return werkzeug_hash


class WerkzeugPasswordHasher(BasePasswordHasher):
    """Checks Werkzeug's ``scrypt:`` and ``pbkdf2:`` hashes, stored as ``werkzeug$<hash>``.

    Add it *after* Django's hashers::

        PASSWORD_HASHERS = [
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # preferred: new hashes
            # ... Django's others ...
            "strangler.identity.hashers.WerkzeugPasswordHasher",
        ]
    """

    algorithm = "werkzeug"
    # For encode() only (a Werkzeug-compatible pbkdf2 hash); never the preferred hasher.
    iterations = 1_000_000

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches the Werkzeug hash inside ``encoded``."""
        try:
            werkzeug_hash = to_werkzeug_hash(encoded)
        except LegacyHashError as exc:
            logger.warning("legacy password hash not checked: %s", exc)
            return False
        try:
            from werkzeug.security import check_password_hash
        except ImportError as exc:
            # The message Django gives for a missing bcrypt or argon2 library.
            raise ValueError(
                f"Couldn't load {type(self).__name__!r} algorithm library: {exc} "
                f"(pip install 'django-strangler[werkzeug]')"
            ) from exc
        try:
            return bool(check_password_hash(werkzeug_hash, password))
        except UnicodeEncodeError:
            # A lone surrogate (a JSON login body can carry "\ud800") has no UTF-8
            # form: Werkzeug could never have hashed it, so it matches nothing.
            return False

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        """A Werkzeug ``pbkdf2:sha256`` hash (``make_password(p, hasher="werkzeug")``).

        Only for giving a password back to the Flask app (``to_werkzeug_hash``
        turns it into what its ``check_password_hash`` reads); Django itself
        never prefers this hasher.
        """
        if password is None:
            raise TypeError("password must be provided")
        if not salt or "$" in salt:
            raise ValueError("salt must be provided and cannot contain $")
        rounds = iterations or self.iterations
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds).hex()
        return to_django_password(f"pbkdf2:sha256:{rounds}${salt}${digest}")

    def decode(self, encoded: str) -> dict[str, Any]:
        """The parts of ``encoded``: algorithm, method (``scrypt:32768:8:1``), salt, hash."""
        werkzeug_hash = to_werkzeug_hash(encoded)
        method, salt, digest = werkzeug_hash.split("$")
        return {"algorithm": self.algorithm, "method": method, "salt": salt, "hash": digest}

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        """What the admin shows: the method, and the salt and hash masked."""
        decoded = self.decode(encoded)
        return {
            _("algorithm"): decoded["algorithm"],
            _("method"): decoded["method"],
            _("salt"): mask_hash(decoded["salt"]),
            _("hash"): mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded: str) -> bool:
        """Always: a legacy hash is replaced by Django's preferred one on the next login."""
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        """Nothing: legacy hashes are replaced on first use, not strengthened in place."""
