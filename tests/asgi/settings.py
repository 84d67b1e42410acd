"""The test project's settings under ASGI: Django also owns ``/django-ws/**`` (WebSockets)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import STRANGLER

STRANGLER = {**STRANGLER, "ROUTES": {"/django-ws/**": "django"}}
if os.environ.get("STRANGLER_TEST_CLIENT_BODY_TIMEOUT"):
    STRANGLER["CLIENT_BODY_TIMEOUT"] = float(os.environ["STRANGLER_TEST_CLIENT_BODY_TIMEOUT"])
if os.environ.get("STRANGLER_TEST_SIGNING_KEY"):
    STRANGLER["IDENTITY"] = {
        "ALGORITHM": "HS256",
        "SIGNING_KEY": os.environ["STRANGLER_TEST_SIGNING_KEY"],
    }
if os.environ.get("STRANGLER_TEST_CA_BUNDLE"):
    STRANGLER["UPSTREAM_CA_BUNDLE"] = os.environ["STRANGLER_TEST_CA_BUNDLE"]
