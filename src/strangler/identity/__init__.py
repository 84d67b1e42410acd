"""One login: Django's user reaches Flask as a signed, short-lived JWT.

``tokens`` (the token format and its checks) is shared by both sides and
imports no framework. The Django side mints tokens (``issuer``, ``claims``),
checks its settings (``checks``) and converts Flask session cookies into Django
logins on the day Django takes over login (``cutover``); the Flask side
verifies them (``flask``, re-exported as ``strangler.flask``).

This package ``__init__`` imports nothing, so the Flask side can import
``strangler.identity.tokens`` without Django installed.
"""
