"""The hook through which identity signs the one upstream request.

Forwarding knows nothing about tokens, keys or identity settings; identity
knows nothing about how a request is framed or sent. Between them is this
hook: the core builds the upstream request, then asks the registered
:class:`RequestSigner` for the headers that vouch for *exactly that request*
(its method and the target as sent, query string included), and adds them
last. The ``strangler`` app registers identity's signer in ``ready()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .headers import Headers
    from .messages import UpstreamRequest


class RequestSigner(Protocol):
    """Adds the headers that tell the upstream who sent a request."""

    def owned_headers(self) -> Sequence[str]:
        """Header names only the signer may set: every client copy is removed."""
        ...

    def runs_django_code(self, request: HttpRequest) -> bool:
        """Will :meth:`sign` run Django code (the session, the user) for ``request``?

        When it will, the entry paths fire Django's request signals around
        it; the signer alone knows which requests need it.
        """
        ...

    def sign(self, request: HttpRequest, upstream: UpstreamRequest) -> Headers:
        """The headers for ``upstream``, built for the client request ``request``.

        ``upstream.method`` and ``upstream.target`` are final: what is signed
        is what is sent.
        """
        ...


class NoSigner:
    """The signer before any is registered: signs nothing, owns no header."""

    def owned_headers(self) -> Sequence[str]:
        return ()

    def runs_django_code(self, request: HttpRequest) -> bool:
        return False

    def sign(self, request: HttpRequest, upstream: UpstreamRequest) -> Headers:
        return []


_signer: RequestSigner = NoSigner()


def register_signer(signer: RequestSigner) -> None:
    """Make ``signer`` sign every forwarded request of this process (replaces the previous one)."""
    global _signer
    _signer = signer


def get_signer() -> RequestSigner:
    """The registered signer (a :class:`NoSigner` when none is)."""
    return _signer
