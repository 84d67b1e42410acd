"""One canonical path per request: the one Flask will route on.

Django decides who answers from a path; Flask routes on the path it
receives. If the two read a target differently, a path Django owns can be
made to reach Flask: ``//billing/1`` does not match ``/billing/**`` but
Werkzeug merges the slashes and routes it to ``/billing/<id>``;
``/billing/1%0a`` ends in a newline a regex ``.`` does not match. So the
decision is made on the path as Werkzeug reads the target that is sent
(its bytes percent-decoded, as UTF-8 with replacement characters,
consecutive slashes merged), and a target the two frameworks could still
read differently is refused with 400 rather than forwarded:

* control characters (``%00``-``%1F``, ``%7F``, ``%0a`` included) in the
  decoded path;
* dot segments (``.``, ``..``, also encoded as ``%2e``): servers and apps
  behind Flask may resolve them, Werkzeug's router does not.

Encoded slashes (``%2f``) need no rule of their own: every WSGI server
decodes them into ``PATH_INFO`` for Django and Flask alike, and the merge
applies to the decoded path.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest

from .errors import ForwardingError
from .messages import request_target

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLASHES = re.compile(r"/{2,}")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")


class AmbiguousPath(ForwardingError):
    """Django and Flask could read this request path differently: answered with 400."""

    status = 400
    code = "ambiguous_path"


def canonical_path(raw_path: str) -> str:
    """The path Flask routes on for a raw (percent-encoded) request path.

    Raises :class:`AmbiguousPath` for control characters and dot segments.
    """
    if "%" in raw_path or not raw_path.isascii():
        try:
            data = unquote_to_bytes(raw_path.encode("latin-1"))
        except UnicodeEncodeError:
            raise AmbiguousPath("the path is not a byte string") from None
        path = data.decode("utf-8", "replace")
    else:
        path = raw_path
    if _CONTROL.search(path):
        raise AmbiguousPath("control character in the path")
    if _DOT_SEGMENT.search(path):
        raise AmbiguousPath("dot segment ('.' or '..') in the path")
    if "//" in path:
        path = _SLASHES.sub("/", path)
    return path or "/"


_TARGET_ATTRIBUTE = "_strangler_target"


def client_target(request: HttpRequest) -> str:
    """The request's target as it will be sent upstream (before the upstream's base path).

    Computed once per request (``forwarding.messages.request_target``) and
    kept on it, so the decision and the forwarded request read the same one.
    """
    target: str | None = getattr(request, _TARGET_ATTRIBUTE, None)
    if target is None:
        target = request_target(request.META)
        setattr(request, _TARGET_ATTRIBUTE, target)
    return target


def request_path(request: HttpRequest) -> str:
    """The canonical path of ``request`` (see :func:`canonical_path`); raises ``AmbiguousPath``.

    A raw request line with a ``#`` is refused too: a fragment is not part
    of a request target (RFC 9112 §3.2), servers drop it from ``PATH_INFO``
    but not from the raw line, so the two would disagree.
    """
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if isinstance(raw, str) and "#" in raw:
        raise AmbiguousPath("'#' in the request target")
    return canonical_path(client_target(request).partition("?")[0])
