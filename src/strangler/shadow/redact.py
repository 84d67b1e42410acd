"""Take secrets out of what shadow and recording store.

Stored differences and recorded requests are read by staff in the admin and
by scripts through ``strangler_shadow --json``; they must never hold what
would let a reader act as a user. Removed before anything is written:

* headers that carry credentials: ``Cookie``, ``Set-Cookie``,
  ``Authorization``, ``Proxy-Authorization``, the identity header, and any
  header whose name contains a secret-sounding word (token, secret, key,
  auth, session, csrf, password, signature);
* query-string parameters and JSON object keys named the same way;
* anything anywhere that looks like a JWT (the identity token, bearer tokens)
  or a ``sessionid=`` style cookie pair, in bodies that are not JSON.

What is kept is what a reviewer needs to see why two answers differ. No
framework imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"

ALWAYS_SECRET_HEADERS = frozenset(
    {"cookie", "set-cookie", "authorization", "proxy-authorization", "x-strangler-identity-token"}
)
_SECRET_WORD = re.compile(
    r"token|secret|passw|pwd|auth|session|csrf|xsrf|api[-_]?key|signature|credential|"
    r"private|(^|[-_])key($|[-_])|sid$",
    re.IGNORECASE,
)
# Three base64url parts, the first an encoded JSON object: a JWT (ours or a bearer token).
_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}")
# name=value pairs of cookies and forms whose name sounds secret.
_SECRET_PAIR = re.compile(
    r"""(?P<name>[\w.-]*(?:token|secret|passw|session|csrf|sid|key)[\w.-]*)"""
    r"""(?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^\s"';&<>,]+)""",
    re.IGNORECASE,
)


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Does a header, parameter or key called ``name`` carry a secret?"""
    lowered = name.lower()
    return (
        lowered in ALWAYS_SECRET_HEADERS
        or lowered in {e.lower() for e in extra}
        or bool(_SECRET_WORD.search(lowered))
    )


def redact_headers(
    headers: Iterable[tuple[str, str]], extra: Iterable[str] = ()
) -> list[list[str]]:
    """Headers as ``[name, value]`` pairs, secret values replaced."""
    names = tuple(extra)
    return [
        [name, REDACTED if is_secret_name(name, names) else redact_text(value)]
        for name, value in headers
    ]


def redact_target(target: str, extra: Iterable[str] = ()) -> str:
    """A request target with secret query parameters (``?token=...``) replaced."""
    path, sep, query = target.partition("?")
    if not sep:
        return redact_text(path)
    names = tuple(extra)
    pairs = parse_qsl(query, keep_blank_values=True)
    cleaned = [(k, REDACTED if is_secret_name(k, names) else redact_text(v)) for k, v in pairs]
    return f"{redact_text(path)}?{urlencode(cleaned, safe='[]')}"


def redact_text(text: str) -> str:
    """Free text with JWTs and ``secret_name=value`` pairs replaced."""
    text = _JWT.sub(REDACTED, text)
    return _SECRET_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)


def redact_json(value: Any, extra: Iterable[str] = ()) -> Any:
    """A JSON document with the values of secret-named keys replaced, at any depth."""
    names = tuple(extra)
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_name(str(key), names) else redact_json(item, names)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_json(item, names) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_body(body: bytes, media_type: str, limit: int, extra: Iterable[str] = ()) -> str:
    """A body as text fit to store: redacted, then cut to ``limit`` characters.

    Redaction comes first, so a secret cannot survive by straddling the cut.
    Binary bodies are stored as a note of their size only.
    """
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            document = json.loads(body)
        except ValueError:
            pass
        else:
            return _cut(json.dumps(redact_json(document, extra), ensure_ascii=False), limit)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(body)} bytes of binary data]"
    return _cut(redact_text(text), limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not stored]"
