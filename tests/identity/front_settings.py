"""The test project's settings with identity on, for the live (gunicorn) front tests.

The signing key comes from the environment so that the test that starts the
front can give Flask the matching public key.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import STRANGLER

STRANGLER = {
    **STRANGLER,
    "IDENTITY": {"SIGNING_KEY": os.environ["STRANGLER_TEST_SIGNING_KEY"]},
}
