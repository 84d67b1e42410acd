"""Forward a Django request to the Flask upstream and stream its answer back.

``forward_request`` (a Django response) and ``send_upstream`` (the bare
answer, for the WSGI fast path) are the entry points of the one forwarding
core (``core.py``); transports (``http``, ``wsgi``), header rules
(``headers``) and the request builder (``messages``) are implementation.
"""

from __future__ import annotations

from .core import forward_request, get_transport, prepare_request, send_upstream
from .errors import ForwardingError
from .http import HttpTransport
from .messages import UpstreamRequest, UpstreamResponse, build_upstream_request
from .response import ForwardedResponse
from .signing import RequestSigner, register_signer
from .transport import Transport
from .wsgi import WsgiTransport

__all__ = [
    "ForwardedResponse",
    "ForwardingError",
    "HttpTransport",
    "RequestSigner",
    "Transport",
    "UpstreamRequest",
    "UpstreamResponse",
    "WsgiTransport",
    "build_upstream_request",
    "forward_request",
    "get_transport",
    "prepare_request",
    "register_signer",
    "send_upstream",
]
