"""Settings of the fronts the reliability and property tests start (gunicorn subprocesses).

The test project's settings, with a Django-owned rule (``/billing/**``) that
Flask's app also has a route for, identity tokens on when the test passes a
signing key, and the read timeout and fail-fast settings the test chooses
(``forwarding/health.py``; unset: the defaults).
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import STRANGLER

STRANGLER = {
    **STRANGLER,
    "ROUTES": {"/billing/**": "django"},
    "READ_TIMEOUT": float(os.environ.get("STRANGLER_TEST_READ_TIMEOUT", "10")),
    "IDENTITY": {"SIGNING_KEY": os.environ.get("STRANGLER_TEST_SIGNING_KEY") or None},
}
for key in ("UPSTREAM_DOWN_AFTER", "UPSTREAM_MAX_WAITING"):
    if os.environ.get(f"STRANGLER_TEST_{key}"):
        STRANGLER[key] = int(os.environ[f"STRANGLER_TEST_{key}"])
if os.environ.get("STRANGLER_TEST_UPSTREAM_COOL_OFF"):
    STRANGLER["UPSTREAM_COOL_OFF"] = float(os.environ["STRANGLER_TEST_UPSTREAM_COOL_OFF"])
