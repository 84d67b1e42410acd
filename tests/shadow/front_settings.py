"""The test project as a live front (gunicorn) in shadow mode, for tests/shadow/test_front.py.

The signing key and the test database come from the environment, so the
test that starts the front gives Flask the matching public key and reads
what the front's shadow workers stored.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import STRANGLER

ROOT_URLCONF = "tests.shadow.urls"
STRANGLER = {
    **STRANGLER,
    "ROUTES": {"/api/**": "shadow", "/page": "shadow"},
    "IDENTITY": {"SIGNING_KEY": os.environ["STRANGLER_TEST_SIGNING_KEY"]},
    # One worker and a short queue, so that a slow Flask fills it.
    "SHADOW": {"WORKERS": 1, "QUEUE_SIZE": 2, "NOISE_WARMUP": 2, "NOISE_SAMPLE": 0.0},
}
