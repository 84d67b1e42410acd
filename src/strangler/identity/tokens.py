"""The identity token: its format, minting and verification, with no framework imports.

A token is a JWS-signed JWT (RFC 7519) built and checked with PyJWT:

* header: ``alg`` (pinned by the verifier), ``kid`` (which key signed it, so
  several keys can be trusted during a rotation) and ``typ`` =
  ``strangler-identity+jwt`` (explicit typing, RFC 8725 §3.11: no other JWT
  signed with the same key can pass for an identity token);
* registered claims ``iss``, ``aud``, ``iat``, ``nbf``, ``exp`` and a random
  ``jti``;
* ``req``: ``{"method": ..., "target": ...}`` binding the token to the one
  request it was minted for (its method, and the request target as sent:
  path bytes and query string, see :func:`bound_target`), so it cannot be
  replayed against another endpoint, method or query. The one exception is
  the anonymous token (:meth:`TokenSigner.mint_anonymous`): ``req`` is
  :data:`ANY_REQUEST`, it carries ``anonymous: true`` and nothing else, and
  a verifier refuses an unbound token that says anything more (binding
  protects an identity; an anonymous token has none, see docs/identity.md);
* the user: ``sub`` (user id as a string), ``username``, ``email``, ``roles``,
  ``permissions``, ``is_staff``, ``is_superuser``, or ``anonymous: true`` and
  no ``sub`` when nobody is logged in. Anonymous requests get a token too, so
  Flask can tell "came through Django, nobody logged in" from "did not come
  through Django" (strict mode refuses the latter).

Keys are parsed once (``load_signing_key`` / ``load_verifying_key``) and kept
as key objects, because re-reading a PEM costs more than signing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

__all__ = [
    "ALGORITHMS",
    "ANONYMOUS",
    "ANY_REQUEST",
    "MAX_TOKEN_SIZE",
    "MIN_HMAC_KEY_BYTES",
    "TOKEN_TYPE",
    "Identity",
    "InvalidToken",
    "KeyConfigError",
    "SigningKey",
    "TokenSigner",
    "TokenVerifier",
    "VerifyingKey",
    "bound_target",
    "environ_binding",
    "generate_key_pair",
    "load_signing_key",
    "load_verifying_key",
]

TOKEN_TYPE = "strangler-identity+jwt"  # noqa: S105  (a media type, not a secret)
# Asymmetric first: Flask then holds only a public key and cannot mint users.
ALGORITHMS = ("EdDSA", "ES256", "HS256")
ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "ES256"})
# RFC 7518 §3.2: an HS256 key at least as long as the hash output.
MIN_HMAC_KEY_BYTES = 32
# A real token is well under 2 KiB; anything far larger is refused unread.
# The most clock difference between Django and Flask a token is given, in
# seconds: the one limit, enforced by DjangoIdentity and checked by Django
# (strangler.W038). Beyond it, synchronise the clocks instead.
MAX_LEEWAY = 30
MAX_TOKEN_SIZE = 8192
# Tokens a verifier remembers as verified (per process); cleared when full.
VERIFIED_TOKENS = 4096
REQUIRED_CLAIMS = ("iss", "aud", "iat", "nbf", "exp", "jti", "req")
# The "req" of the anonymous token: valid for any request, so it can be
# minted once per process and verified once per rotation.
ANY_REQUEST = "any"
# All an unbound token may hold: the registered claims and "anonymous".
_UNBOUND_CLAIMS = frozenset({*REQUIRED_CLAIMS, "anonymous"})

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | bytes
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | bytes

# One PyJWT instance: no per-call option parsing of a module-level default.
_jwt = jwt.PyJWT()


class KeyConfigError(ValueError):
    """A signing or verifying key is missing, malformed, or too weak; says which."""


class InvalidToken(Exception):
    """A token was refused. ``reason`` is short, fixed text, safe to log: never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SigningKey:
    """A parsed private key (or HS256 secret), its algorithm and key id."""

    algorithm: str
    key: PrivateKey = field(repr=False)
    kid: str


@dataclass(frozen=True)
class VerifyingKey:
    """A parsed public key (or HS256 secret) and the one algorithm it may verify."""

    algorithm: str
    key: PublicKey = field(repr=False)
    kid: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprint(members: Mapping[str, str]) -> str:
    # RFC 7638: SHA-256 of the required JWK members, sorted, no whitespace.
    canonical = json.dumps(dict(sorted(members.items())), separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _public_kid(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(key, as_dict=True)
        return _thumbprint({name: jwk[name] for name in ("crv", "kty", "x")})
    jwk = ECAlgorithm.to_jwk(key, as_dict=True)
    return _thumbprint({name: jwk[name] for name in ("crv", "kty", "x", "y")})


def _secret_kid(secret: bytes) -> str:
    return _thumbprint({"k": _b64(secret), "kty": "oct"})


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _is_pem(data: bytes) -> bool:
    return data.lstrip().startswith(b"-----BEGIN")


def _check_secret(secret: bytes) -> bytes:
    if _is_pem(secret):
        # An HS256 "secret" that is a PEM key is the classic key-confusion setup.
        raise KeyConfigError("an HS256 secret must be random bytes, not a PEM key")
    if len(secret) < MIN_HMAC_KEY_BYTES:
        raise KeyConfigError(
            f"an HS256 secret must be at least {MIN_HMAC_KEY_BYTES} random bytes, not {len(secret)}"
        )
    return secret


def load_signing_key(algorithm: str, key: str | bytes, kid: str | None = None) -> SigningKey:
    """Parse a PEM private key (EdDSA, ES256) or an HS256 secret for ``algorithm``.

    Without ``kid`` the key id is the RFC 7638 thumbprint of the public key
    (of the secret for HS256), which ``load_verifying_key`` computes the same
    way, so both sides agree on it without configuration.
    """
    if algorithm not in ALGORITHMS:
        raise KeyConfigError(f"algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    if not isinstance(key, str | bytes) or not key:
        raise KeyConfigError("the signing key is empty")
    data = _as_bytes(key)
    if algorithm == "HS256":
        secret = _check_secret(data)
        return SigningKey(algorithm, secret, kid or _secret_kid(secret))
    if not _is_pem(data):
        raise KeyConfigError(f"an {algorithm} signing key must be a PEM private key")
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"the signing key is not a readable PEM private key ({exc})") from None
    if algorithm == "EdDSA" and isinstance(private, ed25519.Ed25519PrivateKey):
        return SigningKey(algorithm, private, kid or _public_kid(private.public_key()))
    if (
        algorithm == "ES256"
        and isinstance(private, ec.EllipticCurvePrivateKey)
        and isinstance(private.curve, ec.SECP256R1)
    ):
        return SigningKey(algorithm, private, kid or _public_kid(private.public_key()))
    raise KeyConfigError(
        f"the signing key is a {type(private).__name__}, which cannot sign {algorithm} "
        f"(EdDSA needs an Ed25519 key, ES256 a P-256 key)"
    )


def _looks_like_pem(data: bytes) -> bool:
    # A PEM block that lost its armour on the way (a header with a dash
    # short, only the base64 body pasted, or "\n" escapes from a one-line
    # environment variable): the base64 of an Ed25519 and of a P-256 public
    # key always starts with these letters.
    text = data.strip()
    return b"-----" in text or b"BEGIN " in text or text.startswith((b"MCow", b"MFkw", b"MC4C"))


def load_verifying_key(
    key: str | bytes, kid: str | None = None, *, allow_secret: bool = True
) -> VerifyingKey:
    """Parse a PEM public key (Ed25519 → EdDSA, P-256 → ES256) or an HS256 secret.

    The key's type fixes the one algorithm it verifies, so a token cannot
    choose to have a public key used as an HMAC secret (key confusion).
    Private keys are refused: Flask should not be able to mint tokens.
    With ``allow_secret=False`` (HS256 not among the accepted algorithms)
    anything but a PEM public key is refused as such.
    """
    if not isinstance(key, str | bytes) or not key:
        raise KeyConfigError("a verifying key is empty")
    data = _as_bytes(key)
    if not _is_pem(data):
        if _looks_like_pem(data):
            raise KeyConfigError(
                "a verifying key looks like a damaged PEM key: it must start with the "
                "'-----BEGIN PUBLIC KEY-----' line and keep its line breaks (paste the "
                "whole block `manage.py strangler_keys` prints)"
            )
        if not allow_secret:
            raise KeyConfigError(
                "a verifying key is not a PEM public key (no '-----BEGIN PUBLIC KEY-----' "
                "line), and HS256 is not in STRANGLER_ALGORITHMS so it cannot be a shared secret"
            )
        secret = _check_secret(data)
        return VerifyingKey("HS256", secret, kid or _secret_kid(secret))
    if b"PRIVATE KEY" in data:
        raise KeyConfigError(
            "a verifying key is a private key; give Flask only the public key "
            "(manage.py strangler_keys prints it)"
        )
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"a verifying key is not a readable PEM public key ({exc})") from None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return VerifyingKey("EdDSA", public, kid or _public_kid(public))
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return VerifyingKey("ES256", public, kid or _public_kid(public))
    raise KeyConfigError(
        f"a verifying key is a {type(public).__name__}; use an Ed25519 (EdDSA) "
        f"or P-256 (ES256) public key"
    )


def generate_key_pair(algorithm: str = "EdDSA") -> tuple[str, str, str]:
    """Return ``(private, public, kid)`` for ``algorithm``.

    For EdDSA and ES256 both are PEM; for HS256 both are the same random
    secret (43 URL-safe characters, 32 bytes of entropy).
    """
    if algorithm == "HS256":
        secret = secrets.token_urlsafe(MIN_HMAC_KEY_BYTES)
        return secret, secret, _secret_kid(secret.encode())
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise KeyConfigError(f"algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem, _public_kid(private.public_key())


# RFC 3986 pchar minus "%", plus "/": left as they are in a binding; every
# other byte is percent-encoded (upper-case hex), so one canonical string
# stands for each sequence of path bytes.
_BINDING_SAFE = "/:@!$&'()*+,;=-._~"


def _binding(path: bytes, query: str) -> str:
    canonical = quote(path, safe=_BINDING_SAFE) or "/"
    return f"{canonical}?{query}" if query else canonical


def bound_target(target: str) -> str:
    """The binding of an origin-form request target, as Django sends it upstream.

    The path is percent-decoded to its bytes and re-encoded one canonical
    way (no UTF-8 decoding: ``/caf%E9`` and ``/caf%C3%A9`` stay different),
    and the query string is kept byte for byte, so a token minted for
    ``/a?x=1`` does not verify for ``/a?x=2``. ``%2F`` and ``/`` bind alike:
    a WSGI server decodes both to the same ``PATH_INFO``.
    """
    path, _, query = target.partition("?")
    return _binding(unquote_to_bytes(path), query)


def environ_binding(
    script_name: str, path_info: str, query_string: str, raw_uri: str | None = None
) -> str:
    """The same binding computed from what a WSGI server received (the Flask side).

    ``raw_uri`` is the request line's target when the server keeps it
    (``RAW_URI``, ``REQUEST_URI``): it is bound as it is, since some servers
    (Werkzeug's development server) decode bytes that are not UTF-8 lossily
    into ``PATH_INFO``. Otherwise WSGI carries the decoded path as bytes in
    ISO-8859-1 code points (PEP 3333) and the query string undecoded, so the
    binding equals :func:`bound_target` of the target Django sent either way.
    """
    if raw_uri and raw_uri.startswith("/"):
        return bound_target(raw_uri)
    raw = (script_name or "").rstrip("/") + (path_info or "")
    try:
        data = raw.encode("latin-1")
    except UnicodeEncodeError:  # not a WSGI string; never equal to a real target
        data = raw.encode("utf-8", "surrogateescape")
    return _binding(data, query_string or "")


@dataclass(frozen=True)
class Identity:
    """Who a request is for, as the token says. ``ANONYMOUS`` when nobody is logged in."""

    id: str | None
    username: str = ""
    email: str = ""
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    is_staff: bool = False
    is_superuser: bool = False
    # Every claim of the verified token (empty for ``ANONYMOUS`` without a token).
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_authenticated(self) -> bool:
        """True when a user is logged in on Django."""
        return self.id is not None

    @property
    def is_anonymous(self) -> bool:
        """The opposite of ``is_authenticated``, as Django and Flask-Login spell it."""
        return self.id is None

    def has_roles(self, *roles: str) -> bool:
        """True when the user holds every one of ``roles`` (Django groups)."""
        return self.is_authenticated and set(roles) <= self.roles

    def has_permissions(self, *permissions: str) -> bool:
        """True when the user holds every one of ``permissions`` (``app_label.codename``)."""
        return self.is_authenticated and set(permissions) <= self.permissions

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Identity:
        """Build an identity from verified claims (anonymous when there is no ``sub``)."""
        sub = claims.get("sub")
        if claims.get("anonymous") is True or not isinstance(sub, str):
            return cls(id=None, claims=dict(claims))
        return cls(
            id=sub,
            username=_text(claims.get("username")),
            email=_text(claims.get("email")),
            roles=_strings(claims.get("roles")),
            permissions=_strings(claims.get("permissions")),
            is_staff=claims.get("is_staff") is True,
            is_superuser=claims.get("is_superuser") is True,
            claims=dict(claims),
        )


ANONYMOUS = Identity(id=None)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: object) -> frozenset[str]:
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def _unverified_header(token: str) -> dict[str, Any]:
    # Only to pick the key: PyJWT then parses and checks the whole token
    # strictly. Its own get_unverified_header would validate the header a
    # second time, character by character, on every request.
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


class TokenSigner:
    """Mints identity tokens with one signing key (the Django side)."""

    def __init__(
        self, key: SigningKey, *, issuer: str, audience: str, lifetime: int | float
    ) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.lifetime = int(lifetime)
        self._headers = {"kid": key.kid, "typ": TOKEN_TYPE}

    def mint(
        self,
        claims: Mapping[str, Any],
        *,
        method: str,
        target: str,
        now: float | None = None,
    ) -> str:
        """A token carrying ``claims``, valid for ``lifetime`` seconds, bound to one request.

        ``claims`` holds the user's claims (or ``{"anonymous": True}``);
        ``target`` is the request target sent upstream (bound with
        :func:`bound_target`). The registered claims and the request binding
        are set here and win over anything ``claims`` says about them.
        """
        binding = {"method": method.upper(), "target": bound_target(target)}
        return self._sign(claims, binding, now)

    def mint_anonymous(self, *, now: float | None = None) -> str:
        """The anonymous token: ``anonymous: true``, valid for any request, no user claim.

        It grants nothing a request without a token would not get, so it is
        not bound to a request: one per process serves every anonymous
        request until it is renewed (``issuer.ReusedTokens``). What it still
        proves is that the request came through Django within ``lifetime``
        (strict mode).
        """
        return self._sign({"anonymous": True}, ANY_REQUEST, now)

    def _sign(self, claims: Mapping[str, Any], binding: object, now: float | None) -> str:
        # The registered claims and the binding come last: they win over ``claims``.
        issued = int(now if now is not None else time.time())
        payload = {
            **claims,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "jti": secrets.token_urlsafe(16),
            "req": binding,
        }
        return _jwt.encode(
            payload, self.key.key, algorithm=self.key.algorithm, headers=self._headers
        )


class TokenVerifier:
    """Checks identity tokens against trusted keys (the Flask side).

    Pinned: the algorithm list, the key per ``kid`` (and the one algorithm
    that key's type allows), ``typ``, ``iss``, ``aud``, the time claims with
    a small leeway, and the request binding.
    """

    def __init__(
        self,
        keys: Iterable[VerifyingKey],
        *,
        algorithms: Iterable[str],
        issuer: str,
        audience: str,
        leeway: float = 5,
        max_size: int = MAX_TOKEN_SIZE,
    ) -> None:
        self.keys = {key.kid: key for key in keys}
        self.algorithms = frozenset(algorithms)
        unknown = self.algorithms - set(ALGORITHMS)
        if unknown:
            raise KeyConfigError(
                f"algorithms {sorted(unknown)} are not supported; use {', '.join(ALGORITHMS)}"
            )
        if not self.keys:
            raise KeyConfigError("no verifying key is configured")
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.max_size = max_size
        # token string -> its claims, for tokens whose signature and fixed
        # claims were verified here before (see verify()).
        self._verified: dict[str, dict[str, Any]] = {}

    def verify(self, token: str, *, method: str, binding: str) -> dict[str, Any]:
        """Return the token's claims, or raise ``InvalidToken`` saying why not.

        ``binding`` is the received request's :func:`environ_binding` (or
        :func:`bound_target` of its target).

        A token is verified once: the signature, ``alg``, ``kid``, ``typ``,
        ``iss`` and ``aud`` are properties of the exact string, so a string
        verified before is looked up instead of checked again (Django reuses
        a token for the same user, method and target for half its lifetime).
        What depends on the moment and the request, the time claims and the
        request binding, is checked every time.
        """
        if len(token) > self.max_size:
            raise InvalidToken(f"token larger than {self.max_size} bytes")
        known = self._verified.get(token)
        if known is not None:
            now = time.time()
            # The same comparisons PyJWT makes, with the same leeway.
            if known["exp"] <= now - self.leeway:
                raise InvalidToken("token expired")
            if known["nbf"] > now + self.leeway:
                raise InvalidToken("token not yet valid")
            _check_binding(known, method, binding)
            return dict(known)
        claims = self._verify_signed(token)
        _check_binding(claims, method, binding)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = claims
        return dict(claims)

    def _verify_signed(self, token: str) -> dict[str, Any]:
        # Everything but the request binding: the signature and every claim.
        header = _unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"algorithm {str(algorithm)[:20]!r} is not allowed")
        kid = header.get("kid")
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown or missing key id")
        if key.algorithm != algorithm:
            raise InvalidToken(f"key {key.kid[:40]!r} does not verify {algorithm}")
        try:
            decoded = _jwt.decode_complete(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing claim {exc.claim!r}") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token ({type(exc).__name__})") from None
        if decoded["header"].get("typ") != TOKEN_TYPE:
            raise InvalidToken("wrong token type")
        claims: dict[str, Any] = decoded["payload"]
        if not isinstance(claims.get("sub"), str) and claims.get("anonymous") is not True:
            raise InvalidToken("token names neither a user nor anonymous")
        if not isinstance(claims.get("exp"), int | float) or not isinstance(
            claims.get("nbf"), int | float
        ):
            raise InvalidToken("time claims are not numbers")
        if claims.get("req") == ANY_REQUEST and not _is_unbound_anonymous(claims):
            # Only Django's signing key can make this, but a token valid for
            # every request must never say who anyone is.
            raise InvalidToken("an unbound token may only be anonymous")
        return claims


def _is_unbound_anonymous(claims: Mapping[str, Any]) -> bool:
    return (
        claims.get("req") == ANY_REQUEST
        and claims.get("anonymous") is True
        and claims.keys() <= _UNBOUND_CLAIMS
    )


def _check_binding(claims: Mapping[str, Any], method: str, binding: str) -> None:
    if _is_unbound_anonymous(claims):
        return  # the anonymous token: any request, and it grants nothing
    bound = claims.get("req")
    if (
        not isinstance(bound, dict)
        or bound.get("method") != method.upper()
        or bound.get("target") != binding
    ):
        raise InvalidToken("token was minted for another request")
