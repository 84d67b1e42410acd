"""Holder for the Flask app the in-process (``wsgi:``) transport tests call.

The fixture sets ``app`` before pointing ``STRANGLER["UPSTREAM"]`` at
``wsgi:tests.identity.inprocess:app``.
"""

from __future__ import annotations

from typing import Any

app: Any = None
