"""Settings of the fronts the reliability and property tests start (gunicorn subprocesses).

The test project's settings, with a Django-owned rule (``/billing/**``) that
Flask's app also has a route for, identity tokens on when the test passes a
signing key, and the read timeout the test chooses.
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
