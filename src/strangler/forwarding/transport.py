"""What every transport does: send one prepared request, give back the answer's head.

The forwarding core (``core.py``) builds the request, has it signed, and
checks and streams the answer; a transport only moves bytes. Two implement
this today, the pooled HTTP client (``http.py``) and the in-process WSGI call
(``wsgi.py``); the ASGI entry adds an async one. The core never asks which
one it holds: what differs between them is data on the transport
(``base_path``, ``address``), not a branch on its class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .messages import UpstreamRequest, UpstreamResponse
    from .upstream import HttpUpstream


class Transport(Protocol):
    """Sends :class:`UpstreamRequest` objects to the upstream."""

    #: How logs name the upstream (never includes credentials: UPSTREAM has none).
    name: str
    #: Path prefix every target is sent under ("" in-process, the UPSTREAM base path over HTTP).
    base_path: str
    #: The HTTP upstream, for rewriting ``Location`` and cookie ``Domain``; None in-process.
    address: HttpUpstream | None

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Send ``request`` and return once the upstream's final response head arrived.

        Raises ``ForwardingError`` (502/504, or 4xx for an unusable client
        body) when no usable answer head arrived; nothing was streamed yet.
        """
        ...

    def close(self) -> None:
        """Release idle resources (pooled connections); called when settings change."""
        ...
